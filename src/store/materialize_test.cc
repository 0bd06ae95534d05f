// Materialize verifies every byte it puts in the workspace: a damaged cached
// object is refused, and nothing (not even a partial file) is left behind.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cairn/store.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::ReadText;
using testing::TempDir;

class MaterializeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ObjectStore::Open(dir_.path() / "cache", dir_.path() / "tmp");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // Flips one byte of the file that holds `oid` (its loose file, or the pack
  // holding `data`).
  void Damage(const Oid& oid, const std::string& data) {
    fs::path file;
    uint64_t offset = data.size() / 2;
    if (auto loose = store_->LooseFile(oid); loose.ok()) {
      file = *loose;
    } else {
      for (const auto& e : fs::directory_iterator(dir_.path() / "cache/packs")) {
        if (e.path().extension() != ".pack") continue;
        std::string bytes = ReadText(e.path());
        size_t at = bytes.find(data);
        ASSERT_NE(at, std::string::npos);
        file = e.path();
        offset += at;
      }
    }
    ASSERT_FALSE(file.empty());
    ::chmod(file.c_str(), 0644);
    std::string bytes = ReadText(file);
    bytes[offset] ^= 0x20;
    testing::WriteText(file, bytes);
  }
  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(MaterializeTest, IntactObjectsAreWrittenInEveryMode) {
  std::string big = RandomBytes(300000, 1), small = "small\n";
  auto b = store_->PutBlob(big), s = store_->PutBlob(small);
  ASSERT_TRUE(b.ok() && s.ok());
  ASSERT_TRUE(store_->Commit().ok());
  for (LinkMode mode : {LinkMode::kCopy, LinkMode::kHardlink, LinkMode::kSymlink}) {
    fs::path out = dir_.path() / ("out" + std::to_string(static_cast<int>(mode)));
    ASSERT_TRUE(store_->Materialize(*b, out, mode).ok());
    EXPECT_EQ(ReadText(out), big);
    fs::path out_small = out;
    out_small += ".small";
    ASSERT_TRUE(store_->Materialize(*s, out_small, mode).ok());
    EXPECT_EQ(ReadText(out_small), small);
  }
}

TEST_F(MaterializeTest, ADamagedLooseObjectIsRefusedInEveryMode) {
  std::string big = RandomBytes(300000, 2);
  auto b = store_->PutBlob(big);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(store_->Commit().ok());
  Damage(*b, big);
  for (LinkMode mode : {LinkMode::kCopy, LinkMode::kHardlink, LinkMode::kSymlink}) {
    fs::path out = dir_.path() / ("out" + std::to_string(static_cast<int>(mode)));
    Status st = store_->Materialize(*b, out, mode);
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find(b->ToString()), std::string::npos);
    EXPECT_FALSE(fs::exists(fs::symlink_status(out))) << "no partial or bad file is left";
  }
}

TEST_F(MaterializeTest, ADamagedPackedObjectIsRefused) {
  std::string small = "a packed object of some length\n";
  auto s = store_->PutBlob(small);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(store_->Commit().ok());
  Damage(*s, small);
  auto reopened = ObjectStore::Open(dir_.path() / "cache", dir_.path() / "tmp");
  ASSERT_TRUE(reopened.ok());
  fs::path out = dir_.path() / "out";
  EXPECT_EQ((*reopened)->Materialize(*s, out, LinkMode::kCopy).code(), Code::kCorruption);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace cairn
