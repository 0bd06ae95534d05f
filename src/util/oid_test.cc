#include "cairn/oid.h"

#include <gtest/gtest.h>

#include "util/sha256.h"

namespace cairn {
namespace {

TEST(OidTest, MatchesSha256sumOfKnownInputs) {
  // Values from `printf abc | sha256sum` and `printf '' | sha256sum`.
  EXPECT_EQ(Oid::Of("abc").Hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Oid::Of("").ToString(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(OidTest, StreamingEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Oid::Of("abc"));
  h.Update("abc");  // Finish() reset the hasher
  EXPECT_EQ(h.Finish(), Oid::Of("abc"));
}

TEST(OidTest, ParseRoundTripsWithAndWithoutPrefix) {
  Oid oid = Oid::Of("x");
  auto a = Oid::Parse(oid.ToString());
  auto b = Oid::Parse(oid.Hex());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, oid);
  EXPECT_EQ(*b, oid);
}

TEST(OidTest, ParseRejectsBadInput) {
  EXPECT_EQ(Oid::Parse("sha256:abc").status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(Oid::Parse(std::string(64, 'g')).ok());
  EXPECT_FALSE(Oid::Parse("md5:" + std::string(64, 'a')).ok());
}

TEST(OidTest, HexPrefix) {
  EXPECT_TRUE(IsHexPrefix("abc123F"));
  EXPECT_FALSE(IsHexPrefix(""));
  EXPECT_FALSE(IsHexPrefix("v1.0.0"));
}

}  // namespace
}  // namespace cairn
