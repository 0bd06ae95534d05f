// Audit segments on a directory remote: push uploads what the remote lacks,
// fetch merges what it has not seen, verify --remote checks the chain.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cairn/audit.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class AuditRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CAIRN_AUTHOR", "Ada <ada@example.com>", 1);
    ::unsetenv("CAIRN_AUDIT_KEY");
    ::setenv("XDG_CONFIG_HOME", (dir_.path() / "config").c_str(), 1);  // holds no key
    for (const char* name : {"a", "b"}) {
      std::filesystem::create_directories(dir_.path() / name);
      auto repo = testing::InitTestRepo(dir_.path() / name);
      ASSERT_TRUE(repo.ok()) << repo.status().ToString();
      repos_.push_back(std::move(repo).value());
    }
    spec_.name = "origin";
    spec_.url = (dir_.path() / "remote").string();
    auto backend = OpenBackend(spec_);
    ASSERT_TRUE(backend.ok());
    backend_ = std::move(backend).value();
    ASSERT_TRUE(backend_->Prepare().ok());
  }
  void TearDown() override {
    ::unsetenv("CAIRN_AUTHOR");
    ::unsetenv("CAIRN_AUDIT_KEY");
    ::unsetenv("XDG_CONFIG_HOME");
  }
  AuditEntry Append(Repo& repo, const std::string& action) {
    AuditEvent ev;
    ev.action = action;
    auto e = AppendAudit(repo, ev);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : AuditEntry{};
  }
  std::string Cache(Repo& repo) { return repo.layout().remote_index_cache("origin").string(); }
  int64_t Push(Repo& repo, int64_t* merged = nullptr) {
    auto n = PushAudit(repo, *backend_, Cache(repo), merged);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }
  int64_t Fetch(Repo& repo) {
    auto n = FetchAudit(repo, *backend_, Cache(repo));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<Repo>> repos_;
  RemoteSpec spec_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(AuditRemoteTest, PushFetchMergeAndVerifyRemote) {
  Repo& a = *repos_[0];
  Repo& b = *repos_[1];
  AuditEntry first = Append(a, "tag.golden");
  EXPECT_EQ(Push(a), 1);
  EXPECT_EQ(Push(a), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "remote" / "audit" / (first.id + ".log")));
  EXPECT_EQ(Fetch(b), 1);
  EXPECT_EQ(Fetch(b), 0);
  Append(a, "gc");
  Append(b, "tag.delete");
  int64_t merged = -1;
  EXPECT_EQ(Push(b, &merged), 1);
  EXPECT_EQ(merged, 0);
  EXPECT_EQ(Push(a, &merged), 1);  // merges b's entry first, then uploads its own
  EXPECT_EQ(merged, 1);
  auto verify = VerifyAudit(a);
  ASSERT_TRUE(verify.ok());
  EXPECT_TRUE(verify->ok());
  EXPECT_EQ(verify->entries, 3);
  EXPECT_EQ(verify->heads.size(), 2u);
  auto remote = VerifyRemoteAudit(a, spec_);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_TRUE(remote->report.ok()) << (remote->report.problems.empty() ? "" : remote->report.problems[0].message);
  EXPECT_EQ(remote->segments, 3);
  EXPECT_EQ(remote->report.entries, 3);
  EXPECT_EQ(remote->missing_locally, 0);
  auto from_b = VerifyRemoteAudit(b, spec_);
  ASSERT_TRUE(from_b.ok());
  EXPECT_EQ(from_b->missing_locally, 1);
  EXPECT_EQ(Fetch(b), 1);
  Json j = AuditRemoteVerifyJson(*remote);
  EXPECT_EQ(j["segments"], 3);
  EXPECT_EQ(j["remote"], "origin");
}

TEST_F(AuditRemoteTest, AlteredSegmentIsNamedAndNotMerged) {
  Repo& a = *repos_[0];
  Repo& b = *repos_[1];
  Append(a, "tag.golden");
  AuditEntry second = Append(a, "gc");
  EXPECT_EQ(Push(a), 2);
  auto seg = dir_.path() / "remote" / "audit" / (second.id + ".log");
  std::string text = ReadText(seg);
  text[text.find("tag.golden") + 4] = 'X';  // the first entry, inside the segment
  WriteText(seg, text);
  auto remote = VerifyRemoteAudit(a, spec_);
  ASSERT_TRUE(remote.ok());
  ASSERT_FALSE(remote->report.ok());
  EXPECT_EQ(remote->report.problems[0].kind, "edited");
  EXPECT_NE(remote->report.problems[0].message.find(second.id + ".log"), std::string::npos)
      << remote->report.problems[0].message;
  auto fetched = FetchAudit(b, *backend_, Cache(b));
  EXPECT_EQ(fetched.status().code(), Code::kCorruption);
  auto local = ReadAudit(b);
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local->empty());
}

}  // namespace
}  // namespace cairn
