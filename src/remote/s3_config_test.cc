// Resolving an S3 remote's URL, endpoint and credentials (s3_config.h):
// offline, with the developer's AWS settings kept out.
#include <gtest/gtest.h>

#include "cairn/sys/backend.h"
#include "remote/s3_test_server.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using namespace testing;  // NOLINT: the S3 test servers and fixtures

class S3ConfigTest : public S3OfflineFixture {};

TEST_F(S3ConfigTest, NoCredentialsIsInvalidArgumentWithHint) {
  RemoteSpec spec;
  spec.url = "s3://bucket/prefix";
  auto b = OpenS3Backend(spec);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_NE(b.status().hint().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(b.status().hint().find("aws configure"), std::string::npos);
}

TEST_F(S3ConfigTest, MalformedUrls) {
  env_.Set("AWS_ACCESS_KEY_ID", "k");
  env_.Set("AWS_SECRET_ACCESS_KEY", "s");
  for (const char* url : {"s3://", "s3:///prefix", "http://bucket", "s3://b//x"}) {
    RemoteSpec spec;
    spec.url = url;
    EXPECT_EQ(OpenS3Backend(spec).status().code(), Code::kInvalidArgument) << url;
  }
  RemoteSpec spec;
  spec.url = "s3://b/some/prefix/";
  auto b = OpenS3Backend(spec);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Describe(), "s3://b/some/prefix");
  spec.endpoint_url = "localhost:9000";
  EXPECT_EQ(OpenS3Backend(spec).status().code(), Code::kInvalidArgument);
}

TEST_F(S3ConfigTest, CredentialsFromProfileFiles) {
  WriteText(dir_.path() / "credentials",
            "[default]\naws_access_key_id = A\n"
            "aws_secret_access_key = B\n\n[work]\n"
            "aws_access_key_id=C\naws_secret_access_key=D\n");
  WriteText(dir_.path() / "config",
            "[profile other]\naws_access_key_id = E\n"
            "aws_secret_access_key = F\nregion = eu-west-1\n");
  env_.Set("AWS_SHARED_CREDENTIALS_FILE", (dir_.path() / "credentials").c_str());
  env_.Set("AWS_CONFIG_FILE", (dir_.path() / "config").c_str());
  for (const char* profile : {"", "work", "other"}) {
    RemoteSpec spec;
    spec.url = "s3://b";
    spec.profile = profile;
    EXPECT_TRUE(OpenS3Backend(spec).ok()) << profile;
  }
  RemoteSpec spec;
  spec.url = "s3://b";
  spec.profile = "nobody";
  EXPECT_EQ(OpenS3Backend(spec).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
