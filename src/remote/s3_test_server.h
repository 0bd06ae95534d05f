// Test servers for the S3 unit tests (header-only: the test binary is built
// from *_test.cc files alone). MotoServer runs a real S3-compatible server
// (python3 -m moto.server) on loopback; ScriptedServer answers each request
// with a canned response and records what it received, for the cases a real
// server will not produce on demand (throttling, pages, exact request lines).
#ifndef CAIRN_REMOTE_S3_TEST_SERVER_H_
#define CAIRN_REMOTE_S3_TEST_SERVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_util/temp_dir.h"

extern char** environ;

namespace cairn::testing {

inline int FreePort() {
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
inline int Connect(int port) {
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
inline pid_t SpawnPython(const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env, int stdout_fd = -1) {
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
inline std::optional<std::string> RunPython(const std::string& script) {
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
inline bool CreateBucket(int port, const std::string& bucket) {
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
inline void IsolateAwsEnvironment(ScopedEnv* env) {
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

// Configuration and scripted servers: no moto needed. Keeps the developer's
// AWS settings out.
class S3OfflineFixture : public ::testing::Test {
 protected:
  void SetUp() override { IsolateAwsEnvironment(&env_); }
  ScopedEnv env_;
  TempDir dir_;
};

}  // namespace cairn::testing

#endif  // CAIRN_REMOTE_S3_TEST_SERVER_H_
