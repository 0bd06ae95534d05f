// The HTTP layer under the S3 backend (s3_http.h, s3_signing.h): retries of
// transient failures only, failing fast when nobody listens, the signed
// headers on the wire (scripted server), and signatures that moto with
// enforced authentication verifies.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "cairn/sys/backend.h"
#include "remote/s3_test_server.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using namespace testing;  // NOLINT: the S3 test servers and fixtures

class S3HttpTest : public S3OfflineFixture {};

TEST_F(S3HttpTest, UnreachableEndpointFailsFast) {
  env_.Set("AWS_ACCESS_KEY_ID", "test");
  env_.Set("AWS_SECRET_ACCESS_KEY", "test");
  RemoteSpec spec;
  spec.url = "s3://cairn-test";
  spec.endpoint_url = "http://127.0.0.1:" + std::to_string(FreePort());  // nobody listens
  auto b = OpenS3Backend(spec);
  ASSERT_TRUE(b.ok());
  auto start = std::chrono::steady_clock::now();
  auto got = (*b)->Get("k");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kIOError);
  EXPECT_NE(got.status().message().find("cannot reach " + spec.endpoint_url), std::string::npos)
      << got.status().ToString();
  EXPECT_NE(got.status().hint().find("endpoint"), std::string::npos);
  EXPECT_LT(secs, 3.0);
  EXPECT_EQ((*b)->stats().requests, 5u);
  EXPECT_EQ((*b)->stats().retries, 4u);
  Status check = (*b)->Check();
  EXPECT_EQ(check.code(), Code::kIOError);
  EXPECT_NE(check.message().find("cannot reach"), std::string::npos) << check.ToString();
}

TEST_F(S3HttpTest, RetriesTransientErrorsOnly) {
  env_.Set("AWS_ACCESS_KEY_ID", "test");
  env_.Set("AWS_SECRET_ACCESS_KEY", "test");
  RemoteSpec spec;
  spec.url = "s3://bkt";
  {
    ScriptedServer server({ScriptedServer::Reply(503, ScriptedServer::ErrorXml("SlowDown")),
                           ScriptedServer::Reply(500, ""),
                           ScriptedServer::Reply(400, ScriptedServer::ErrorXml("RequestTimeout")),
                           ScriptedServer::Reply(200, "payload")});
    spec.endpoint_url = server.endpoint();
    auto b = OpenS3Backend(spec);
    ASSERT_TRUE(b.ok());
    auto got = (*b)->Get("k");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "payload");
    EXPECT_EQ((*b)->stats().requests, 4u);
    EXPECT_EQ((*b)->stats().retries, 3u);
  }
  {
    ScriptedServer server({ScriptedServer::Reply(403, ScriptedServer::ErrorXml("AccessDenied"))});
    spec.endpoint_url = server.endpoint();
    auto b = OpenS3Backend(spec);
    ASSERT_TRUE(b.ok());
    Status s = (*b)->Put("k", "v");
    EXPECT_EQ(s.code(), Code::kIOError);
    EXPECT_EQ(s.message(), "s3://bkt: PUT k failed: 403 AccessDenied (m)");
    EXPECT_NE(s.hint().find("AWS_ACCESS_KEY_ID"), std::string::npos);
    EXPECT_EQ((*b)->stats().retries, 0u);
  }
}

TEST_F(S3HttpTest, SignsPayloadHashAndSessionToken) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKID");
  env_.Set("AWS_SECRET_ACCESS_KEY", "secret");
  env_.Set("AWS_SESSION_TOKEN", "tok");
  env_.Set("AWS_REGION", "eu-west-1");
  ScriptedServer server({ScriptedServer::Reply(200, "")});
  RemoteSpec spec;
  spec.url = "s3://bkt/pre";
  spec.endpoint_url = server.endpoint();
  auto b = OpenS3Backend(spec);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Put("dir/a b+é", "hello").ok());
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string& req = server.requests()[0];
  EXPECT_EQ(req.rfind("PUT /bkt/pre/dir/a%20b%2B%C3%A9 HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("x-amz-content-sha256: "
                     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\r\n"),
            std::string::npos)
      << req;
  EXPECT_NE(req.find("x-amz-security-token: tok\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Credential=AKID/"), std::string::npos) << req;
  EXPECT_NE(req.find("/eu-west-1/s3/aws4_request"), std::string::npos) << req;
  EXPECT_NE(
      req.find(
          "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
      std::string::npos)
      << req;
  EXPECT_NE(req.find("Content-Type: application/octet-stream\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Expect:"), std::string::npos) << req;  // no round trip for small bodies
  EXPECT_EQ(req.substr(req.size() - 5), "hello");
}

// moto with signatures enforced: INITIAL_NO_AUTH_ACTION_COUNT=4 lets four IAM
// calls through unsigned to create a user and its key; after that every
// request must be signed by that key.
class S3AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new ScopedEnv;
    IsolateAwsEnvironment(env_);
    server_ = new MotoServer;
    if (!server_->Start({"INITIAL_NO_AUTH_ACTION_COUNT=4"})) return;
    std::string script =
        "import boto3, json\n"
        "kw = dict(endpoint_url='" +
        server_->endpoint() +
        "', region_name='us-east-1',\n"
        "          aws_access_key_id='x', aws_secret_access_key='x')\n"
        "iam = boto3.client('iam', **kw)\n"
        "iam.create_user(UserName='u')\n"
        "k = iam.create_access_key(UserName='u')['AccessKey']\n"
        "doc = {'Version': '2012-10-17',\n"
        "       'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}\n"
        "p = iam.create_policy(PolicyName='all', PolicyDocument=json.dumps(doc))\n"
        "iam.attach_user_policy(UserName='u', PolicyArn=p['Policy']['Arn'])\n"
        "kw.update(aws_access_key_id=k['AccessKeyId'], "
        "aws_secret_access_key=k['SecretAccessKey'])\n"
        "boto3.client('s3', **kw).create_bucket(Bucket='signed')\n"
        "print(k['AccessKeyId'], k['SecretAccessKey'])\n";
    auto out = RunPython(script);
    if (!out) return;
    std::istringstream(*out) >> key_id_ >> secret_;
    started_ = !secret_.empty();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete env_;
  }
  void SetUp() override {
    if (!started_) GTEST_SKIP() << "cannot start moto with enforced authentication";
  }
  static RemoteSpec Spec(const std::string& secret) {
    RemoteSpec spec;
    spec.url = "s3://signed";
    spec.endpoint_url = server_->endpoint();
    spec.access_key_id = key_id_;
    spec.secret_access_key = secret;
    return spec;
  }

  static ScopedEnv* env_;
  static MotoServer* server_;
  static bool started_;
  static std::string key_id_, secret_;
};

ScopedEnv* S3AuthTest::env_ = nullptr;
MotoServer* S3AuthTest::server_ = nullptr;
bool S3AuthTest::started_ = false;
std::string S3AuthTest::key_id_, S3AuthTest::secret_;

// One test, as each test process under ctest starts its own server.
// Note: moto canonicalizes some characters differently from AWS (it signs a
// decoded "/" in query values and decoded non-ASCII in paths), so these keys
// and list prefixes stay plain; S3BackendTest covers unusual keys.
TEST_F(S3AuthTest, SignaturesAreVerified) {
  {
    SCOPED_TRACE("right credentials");
    auto b = OpenS3Backend(Spec(secret_));
    ASSERT_TRUE(b.ok());
    Backend& backend = **b;
    EXPECT_TRUE(backend.Check().ok()) << backend.Check().ToString();
    Status put = backend.Put("refs/main", "hello");
    ASSERT_TRUE(put.ok()) << put.ToString();
    EXPECT_EQ(*backend.Get("refs/main"), "hello");
    EXPECT_EQ(*backend.GetRange("refs/main", 1, 3), "ell");
    std::string big = RandomBytes(17 << 20, 3);
    put = backend.Put("packs/big.pack", big);
    ASSERT_TRUE(put.ok()) << put.ToString();
    EXPECT_TRUE(*backend.Get("packs/big.pack") == big);
    auto listed = backend.List("pack");
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].key, "packs/big.pack");
    EXPECT_TRUE(backend.Delete("refs/main").ok());
    EXPECT_EQ(backend.Get("refs/main").status().code(), Code::kNotFound);
    auto started = RunPython(
        "import boto3\n"
        "boto3.client('s3', endpoint_url='" +
        server_->endpoint() + "', region_name='us-east-1', aws_access_key_id='" + key_id_ +
        "', aws_secret_access_key='" + secret_ +
        "').create_multipart_upload(Bucket='signed', Key='packs/interrupted.pack')\n");
    ASSERT_TRUE(started) << "boto3 create_multipart_upload failed";
    auto removed = backend.RemoveStale(INT64_MAX);  // a signed list, then a signed abort
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    EXPECT_EQ(*removed, 1u);
  }
  {
    SCOPED_TRACE("credentials from a profile");
    TempDir dir;
    WriteText(dir.path() / "credentials", "[cairn]\naws_access_key_id = " + key_id_ +
                                              "\naws_secret_access_key = " + secret_ + "\n");
    ScopedEnv env;
    env.Set("AWS_SHARED_CREDENTIALS_FILE", (dir.path() / "credentials").c_str());
    env.Set("AWS_PROFILE", "cairn");
    RemoteSpec spec = Spec("");
    spec.access_key_id.clear();
    auto b = OpenS3Backend(spec);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_TRUE((*b)->Put("from-profile", "x").ok());
  }
  {
    SCOPED_TRACE("wrong secret");
    auto b = OpenS3Backend(Spec("wrong-secret"));
    ASSERT_TRUE(b.ok());
    Status put = (*b)->Put("packs/x.pack", "data");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.message().find("s3://signed: PUT packs/x.pack failed: 403 SignatureDoesNotMatch"),
              std::string::npos)
        << put.message();
    EXPECT_NE(put.hint().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
    Status check = (*b)->Check();
    EXPECT_FALSE(check.ok());
    EXPECT_NE(check.message().find("credentials"), std::string::npos) << check.ToString();
    EXPECT_EQ((*b)->stats().retries, 0u);  // a 403 is not transient
  }
}

}  // namespace
}  // namespace cairn
