// The S3 backend against a real S3 server: moto (python3 -m moto.server) on
// loopback, one server per suite. S3BackendTest runs moto in its default mode
// (any credentials accepted); S3AuthTest enforces SigV4 signatures, so it
// checks that what libcurl signs is what S3 verifies.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "cairn/sys/backend.h"
#include "test_util/temp_dir.h"

extern char** environ;

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteText;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A connected socket to 127.0.0.1:port, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Runs python3 with `args`; `extra_env` is added to the environment. The pid
// is python's own. stdout goes to `stdout_fd` when >= 0, else /dev/null.
pid_t SpawnPython(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                  int stdout_fd = -1) {
  std::vector<std::string> env(extra_env);
  for (char** e = environ; *e; ++e) env.push_back(*e);
  std::vector<char*> envp, argv = {const_cast<char*>("python3")};
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  if (posix_spawnp(&pid, "python3", &fa, nullptr, argv.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Runs a python script to completion; its stdout, or nullopt when it fails.
std::optional<std::string> RunPython(const std::string& script) {
  int fds[2];
  if (pipe(fds) != 0) return std::nullopt;
  pid_t pid = SpawnPython({"-c", script}, {}, fds[1]);
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return out;
}

// Sets environment variables for the lifetime of the object, then restores them.
class ScopedEnv {
 public:
  void Set(const char* name, const char* value) {
    if (!saved_.count(name)) {
      const char* old = getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// A moto server on a free loopback port.
class MotoServer {
 public:
  // Starts it and waits (up to ~15 s) until it accepts connections.
  bool Start(const std::vector<std::string>& extra_env = {}) {
    port_ = FreePort();
    pid_ = SpawnPython({"-m", "moto.server", "-H", "127.0.0.1", "-p", std::to_string(port_)},
                       extra_env);
    if (pid_ < 0) return false;
    for (int i = 0; i < 300; ++i) {
      if (int fd = Connect(port_); fd >= 0) {
        close(fd);
        return true;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: moto missing?
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~MotoServer() { Stop(); }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

// An unsigned "PUT /bucket": moto's default mode accepts it.
bool CreateBucket(int port, const std::string& bucket) {
  int fd = Connect(port);
  if (fd < 0) return false;
  std::string req = "PUT /" + bucket + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  bool ok = write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  char buf[256] = {};
  ok = ok && read(fd, buf, sizeof buf - 1) > 0 &&
       std::string(buf).find(" 200 ") != std::string::npos;
  close(fd);
  return ok;
}

// Keeps the tests away from the developer's AWS configuration.
void IsolateAwsEnvironment(ScopedEnv* env) {
  for (const char* name :
       {"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
    env->Set(name, nullptr);
  }
  env->Set("AWS_CONFIG_FILE", "/nonexistent/aws-config");
  env->Set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials");
  env->Set("NO_PROXY", "127.0.0.1,localhost");
  env->Set("no_proxy", "127.0.0.1,localhost");
}

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

// Configuration and an unreachable server: no moto needed.
class S3OfflineTest : public ::testing::Test {
 protected:
  void SetUp() override { IsolateAwsEnvironment(&env_); }
  ScopedEnv env_;
  TempDir dir_;
};

TEST_F(S3OfflineTest, NoCredentialsIsInvalidArgumentWithHint) {
  RemoteSpec spec;
  spec.url = "s3://bucket/prefix";
  auto b = OpenS3Backend(spec);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_NE(b.status().hint().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(b.status().hint().find("aws configure"), std::string::npos);
}

TEST_F(S3OfflineTest, MalformedUrls) {
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

TEST_F(S3OfflineTest, CredentialsFromProfileFiles) {
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

TEST_F(S3OfflineTest, UnreachableEndpointFailsFast) {
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

// A one-thread HTTP server that answers the n-th connection with the n-th
// scripted response, then closes it, and records the requests it saw.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> responses) : responses_(std::move(responses)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    shutdown(fd_, SHUT_RDWR);  // wakes accept() when fewer requests came
    thread_.join();
    close(fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Safe once the client is done.
  const std::vector<std::string>& requests() const { return requests_; }

  static std::string Reply(int status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }
  static std::string ErrorXml(const std::string& code) {
    return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
  }

 private:
  void Serve() {
    for (const std::string& response : responses_) {
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::string req;
      char buf[4096];
      size_t body_at = std::string::npos, want = 0;
      for (ssize_t n; (n = read(conn, buf, sizeof buf)) > 0;) {
        req.append(buf, n);
        if (body_at == std::string::npos && (body_at = req.find("\r\n\r\n")) != std::string::npos) {
          body_at += 4;
          std::string lower(req);
          for (char& c : lower) c = static_cast<char>(tolower(c));
          size_t cl = lower.find("content-length:");
          want = cl == std::string::npos ? 0 : strtoul(lower.c_str() + cl + 15, nullptr, 10);
        }
        if (body_at != std::string::npos && req.size() >= body_at + want) break;
      }
      requests_.push_back(req);
      (void)!write(conn, response.data(), response.size());
      close(conn);
    }
  }

  std::vector<std::string> responses_;
  std::vector<std::string> requests_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(S3OfflineTest, RetriesTransientErrorsOnly) {
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

TEST_F(S3OfflineTest, SignsPayloadHashAndSessionToken) {
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

TEST_F(S3OfflineTest, RemoveStaleFollowsPagesAndAbortsOnlyOldUploads) {
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
