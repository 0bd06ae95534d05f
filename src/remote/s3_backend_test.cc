// The S3 backend's object operations against a real S3 server: moto
// (python3 -m moto.server) on loopback, one server per suite, in its default
// mode (any credentials accepted); and the paging of unfinished uploads
// against a scripted server.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cairn/sys/backend.h"
#include "remote/s3_test_server.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using namespace testing;  // NOLINT: the S3 test servers and fixtures

class S3BackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new ScopedEnv;
    IsolateAwsEnvironment(env_);
    env_->Set("AWS_ACCESS_KEY_ID", "test");
    env_->Set("AWS_SECRET_ACCESS_KEY", "test");
    server_ = new MotoServer;
    started_ = server_->Start() && CreateBucket(server_->port(), "cairn-test");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete env_;
  }
  void SetUp() override {
    if (!started_) GTEST_SKIP() << "cannot start python3 -m moto.server";
    backend_ = Open("s3://cairn-test/p/q");
  }

  static std::unique_ptr<Backend> Open(const std::string& url) {
    RemoteSpec spec;
    spec.url = url;
    spec.endpoint_url = server_->endpoint();
    auto b = OpenS3Backend(spec);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }

  static ScopedEnv* env_;
  static MotoServer* server_;
  static bool started_;
  std::unique_ptr<Backend> backend_;
};

ScopedEnv* S3BackendTest::env_ = nullptr;
MotoServer* S3BackendTest::server_ = nullptr;
bool S3BackendTest::started_ = false;

TEST_F(S3BackendTest, PutGetRoundTripAndMissingKey) {
  EXPECT_EQ(backend_->Describe(), "s3://cairn-test/p/q");
  for (const std::string key : {"refs/heads/main", "empty", "dir/a b é+=&?#%.txt", "x/../y"}) {
    std::string data = key == "empty" ? "" : "content of " + key;
    ASSERT_TRUE(backend_->Put(key, data).ok()) << key;
    auto got = backend_->Get(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(*got, data);
  }
  ASSERT_TRUE(backend_->Put("refs/heads/main", "v2").ok());  // overwrite
  EXPECT_EQ(*backend_->Get("refs/heads/main"), "v2");
  // Keys live under the prefix: the bucket root sees them as p/q/<key>.
  auto root = Open("s3://cairn-test");
  EXPECT_EQ(*root->Get("p/q/refs/heads/main"), "v2");

  auto got = backend_->Get("no/such/key");  // NotFound, naming the key
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().ToString();
  EXPECT_NE(got.status().message().find("no/such/key"), std::string::npos);
}

TEST_F(S3BackendTest, GetRange) {
  std::string data = RandomBytes(1000, 1);
  ASSERT_TRUE(backend_->Put("range", data).ok());
  auto r = backend_->GetRange("range", 10, 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, data.substr(10, 100));
  EXPECT_EQ(*backend_->GetRange("range", 999, 1), data.substr(999));
  EXPECT_EQ(*backend_->GetRange("range", 0, 1000), data);
  EXPECT_EQ(*backend_->GetRange("range", 1000, 0), "");

  auto across_end = backend_->GetRange("range", 990, 20);
  EXPECT_EQ(across_end.status().code(), Code::kCorruption) << across_end.status().ToString();
  auto past_end = backend_->GetRange("range", 1000, 5);
  EXPECT_EQ(past_end.status().code(), Code::kCorruption) << past_end.status().ToString();
  EXPECT_EQ(backend_->GetRange("range", 1001, 0).status().code(), Code::kCorruption);
  EXPECT_EQ(backend_->GetRange("missing", 0, 5).status().code(), Code::kNotFound);
  EXPECT_EQ(backend_->GetRange("missing", 0, 0).status().code(), Code::kNotFound);
}

TEST_F(S3BackendTest, LargePutGoesMultipart) {
  std::string data = RandomBytes(20 << 20, 2);
  uint64_t requests = backend_->stats().requests, sent = backend_->stats().bytes_sent;
  ASSERT_TRUE(backend_->Put("packs/big.pack", data).ok());
  // start + 3 parts (8 + 8 + 4 MiB) + complete
  EXPECT_EQ(backend_->stats().requests - requests, 5u);
  sent = backend_->stats().bytes_sent - sent;  // the parts and the completion XML
  EXPECT_GT(sent, data.size());
  EXPECT_LT(sent, data.size() + 1000);
  auto got = backend_->Get("packs/big.pack");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  auto listed = backend_->List("packs/big");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, data.size());
  EXPECT_EQ(*backend_->GetRange("packs/big.pack", 9 << 20, 10), data.substr(9 << 20, 10));
}

TEST_F(S3BackendTest, ListFollowsContinuationAndStripsPrefix) {
  constexpr int kKeys = 1100;  // moto pages at 1000
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += 8) {
        char key[32];
        snprintf(key, sizeof key, "many/%05d", i);
        if (!backend_->Put(key, std::string(i % 7, 'x')).ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(backend_->Put("manyother", "o").ok());
  ASSERT_TRUE(Open("s3://cairn-test/p")->Put("qq/outside", "o").ok());  // "p/qq/" not under "p/q/"

  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto listed = backend_->List("many/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    char key[32];
    snprintf(key, sizeof key, "many/%05d", i);
    ASSERT_EQ((*listed)[i].key, key);
    EXPECT_EQ((*listed)[i].size, static_cast<uint64_t>(i % 7));
    EXPECT_LE(std::abs((*listed)[i].mtime - now), 120);
  }
  auto all = backend_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_GT(all->size(), static_cast<size_t>(kKeys));
  EXPECT_TRUE(std::is_sorted(all->begin(), all->end(),
                             [](const auto& a, const auto& b) { return a.key < b.key; }));
  for (const RemoteObject& o : *all) EXPECT_NE(o.key.rfind("qq/", 0), 0u) << o.key;
  EXPECT_EQ(backend_->List("nothing-here/")->size(), 0u);
}

TEST_F(S3BackendTest, Delete) {
  ASSERT_TRUE(backend_->Put("doomed", "x").ok());
  ASSERT_TRUE(backend_->Delete("doomed").ok());
  EXPECT_EQ(backend_->Get("doomed").status().code(), Code::kNotFound);
  EXPECT_TRUE(backend_->Delete("doomed").ok());
  EXPECT_TRUE(backend_->Delete("never/existed").ok());
}

TEST_F(S3BackendTest, Check) {
  EXPECT_TRUE(backend_->Check().ok());
  auto missing = Open("s3://no-such-bucket/x");
  Status s = missing->Check();
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("bucket no-such-bucket does not exist"), std::string::npos)
      << s.message();
  EXPECT_FALSE(s.hint().empty());
  Status put = missing->Put("k", "v");
  EXPECT_NE(put.message().find("NoSuchBucket"), std::string::npos) << put.ToString();
  EXPECT_NE(put.hint().find("create the bucket"), std::string::npos) << put.ToString();
}

TEST_F(S3BackendTest, StatsCountRequestsAndBytes) {
  auto b = Open("s3://cairn-test/stats");
  ASSERT_TRUE(b->Put("a", "12345").ok());
  ASSERT_EQ(*b->Get("a"), "12345");
  ASSERT_EQ(*b->GetRange("a", 1, 2), "23");
  EXPECT_EQ(b->stats().requests, 3u);
  EXPECT_EQ(b->stats().bytes_sent, 5u);
  EXPECT_EQ(b->stats().bytes_received, 7u);
  EXPECT_EQ(b->stats().retries, 0u);
}

TEST_F(S3BackendTest, ConcurrentPutGet) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string key = "conc/" + std::to_string(t) + "/" + std::to_string(i);
        std::string data = RandomBytes(1000 + i * 100, t * 100 + i);
        auto got = backend_->Put(key, data).ok() ? backend_->Get(key) : Status::IOError("put");
        if (!got.ok() || *got != data) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
}

// Unfinished multipart uploads, started with boto3 as an interrupted Put
// would leave them; moto reports a fixed Initiated time, so the cutoffs are
// taken from what it lists.
TEST_F(S3BackendTest, RemoveStaleAbortsOldUploadsUnderThePrefix) {
  std::string boto =
      "import boto3\n"
      "s3 = boto3.client('s3', endpoint_url='" +
      server_->endpoint() +
      "', region_name='us-east-1',\n"
      "                  aws_access_key_id='test', aws_secret_access_key='test')\n";
  // "stale/inx/" is outside "stale/in/".
  auto initiated =
      RunPython(boto +
                "for k in ['stale/in/packs/x.pack', 'stale/inx/y']:\n"
                "    s3.create_multipart_upload(Bucket='cairn-test', Key=k)\n"
                "u = s3.list_multipart_uploads(Bucket='cairn-test', Prefix='stale/in/')\n"
                "print(int(u['Uploads'][0]['Initiated'].timestamp()))\n");
  ASSERT_TRUE(initiated) << "boto3 create_multipart_upload failed";
  int64_t at = std::stoll(*initiated);
  std::string list_script = boto +
                            "u = s3.list_multipart_uploads(Bucket='cairn-test', Prefix='stale/')\n"
                            "print(' '.join(sorted(x['Key'] for x in u.get('Uploads', []))))\n";
  EXPECT_EQ(RunPython(list_script), "stale/in/packs/x.pack stale/inx/y\n");

  auto b = Open("s3://cairn-test/stale/in");
  for (int64_t young : {int64_t{0}, at}) {  // initiated at or after the cutoff: spared
    auto removed = b->RemoveStale(young);
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    EXPECT_EQ(*removed, 0u) << young;
  }
  EXPECT_EQ(RunPython(list_script), "stale/in/packs/x.pack stale/inx/y\n");

  auto removed = b->RemoveStale(INT64_MAX);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(RunPython(list_script), "stale/inx/y\n");
  EXPECT_EQ(*b->RemoveStale(INT64_MAX), 0u);
  EXPECT_EQ(*Open("s3://cairn-test/stale/inx")->RemoveStale(at + 1), 1u);
  EXPECT_EQ(RunPython(list_script), "\n");
}

// Listing pages of a scripted server: no moto needed.
class S3BackendOfflineTest : public S3OfflineFixture {};

TEST_F(S3BackendOfflineTest, RemoveStaleFollowsPagesAndAbortsOnlyOldUploads) {
  env_.Set("AWS_ACCESS_KEY_ID", "test");
  env_.Set("AWS_SECRET_ACCESS_KEY", "test");
  auto page = [](bool truncated, const std::string& uploads) {
    return ScriptedServer::Reply(
        200,
        "<?xml version=\"1.0\"?><ListMultipartUploadsResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bkt</Bucket>"
        "<IsTruncated>" +
            std::string(truncated ? "true" : "false") + "</IsTruncated>" +
            (truncated ? "<NextKeyMarker>pre/a b</NextKeyMarker>"
                         "<NextUploadIdMarker>id/2+</NextUploadIdMarker>"
                       : "") +
            uploads + "</ListMultipartUploadsResult>");
  };
  auto upload = [](const std::string& key, const std::string& id, const std::string& initiated) {
    return "<Upload><Key>" + key + "</Key><UploadId>" + id + "</UploadId>" +
           (initiated.empty() ? "" : "<Initiated>" + initiated + "</Initiated>") + "</Upload>";
  };
  constexpr int64_t kCutoff = 1735689600;  // 2025-01-01T00:00:00Z
  RemoteSpec spec;
  spec.url = "s3://bkt/pre";
  {
    ScriptedServer server(
        {page(true, upload("pre/a", "id1", "2024-12-31T23:59:59.000Z") +
                        upload("pre/a b", "id/2+", "2025-01-01T00:00:00.000Z")),
         ScriptedServer::Reply(204, ""),
         page(false, upload("pre/c", "id3", "2020-01-01T00:00:00.000Z") +
                         upload("pre/d", "id4", "") +                             // no time: spared
                         upload("other/e", "id5", "2020-01-01T00:00:00.000Z")),   // not ours
         ScriptedServer::Reply(404, ScriptedServer::ErrorXml("NoSuchUpload"))});  // gone meanwhile
    spec.endpoint_url = server.endpoint();
    auto b = OpenS3Backend(spec);
    ASSERT_TRUE(b.ok());
    auto removed = (*b)->RemoveStale(kCutoff);
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    EXPECT_EQ(*removed, 1u);
    ASSERT_EQ(server.requests().size(), 4u);
    auto line = [&](int i) {
      const std::string& r = server.requests()[i];
      return r.substr(0, r.find("\r\n"));
    };
    EXPECT_EQ(line(0), "GET /bkt?prefix=pre%2F&uploads= HTTP/1.1");
    EXPECT_EQ(line(1), "DELETE /bkt/pre/a?uploadId=id1 HTTP/1.1");
    EXPECT_EQ(line(2),
              "GET /bkt?key-marker=pre%2Fa%20b&prefix=pre%2F&upload-id-marker=id%2F2%2B&uploads= "
              "HTTP/1.1");
    EXPECT_EQ(line(3), "DELETE /bkt/pre/c?uploadId=id3 HTTP/1.1");
  }
  {
    ScriptedServer server({page(false, upload("pre/x y", "id1", "2020-01-01T00:00:00Z")),
                           ScriptedServer::Reply(403, ScriptedServer::ErrorXml("AccessDenied"))});
    spec.endpoint_url = server.endpoint();
    auto b = OpenS3Backend(spec);
    ASSERT_TRUE(b.ok());
    auto removed = (*b)->RemoveStale(kCutoff);
    ASSERT_FALSE(removed.ok());
    EXPECT_EQ(removed.status().code(), Code::kIOError);
    EXPECT_EQ(removed.status().message(),
              "s3://bkt/pre: abort upload x y failed: 403 AccessDenied (m)");
    ASSERT_EQ(server.requests().size(), 2u);
    EXPECT_EQ(server.requests()[1].rfind("DELETE /bkt/pre/x%20y?uploadId=id1 HTTP/1.1\r\n", 0), 0u);
  }
}

}  // namespace
}  // namespace cairn
