// The audit log: appends chain, reads filter, merges follow the DAG, and
// verify names each kind of damage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "audit/audit_internal.h"
#include "cairn/audit.h"
#include "cairn/gate.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using namespace audit_internal;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CAIRN_AUTHOR", "Ada <ada@example.com>", 1);
    // No signing key unless a test makes one.
    ::unsetenv("CAIRN_AUDIT_KEY");
    ::setenv("XDG_CONFIG_HOME", (dir_.path() / "config").c_str(), 1);  // holds no key
    std::filesystem::create_directories(dir_.path() / "repo");
    auto repo = testing::InitTestRepo(dir_.path() / "repo");
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
  }
  void TearDown() override {
    ::unsetenv("CAIRN_AUTHOR");
    ::unsetenv("CAIRN_AUDIT_KEY");
    ::unsetenv("XDG_CONFIG_HOME");
  }

  AuditEntry Append(const std::string& action, const std::string& subject = "dataset:data@v1") {
    AuditEvent ev;
    ev.action = action;
    ev.subjects = {subject};
    ev.reason = "because";
    ev.details = Json{{"n", 1}};
    auto e = AppendAudit(*repo_, ev);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : AuditEntry{};
  }
  std::vector<std::string> Lines() {
    std::vector<std::string> out;
    std::string text = ReadText(AuditLogPath(repo_->layout()));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      out.push_back(text.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }
  void SetLines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    WriteText(AuditLogPath(repo_->layout()), text);
  }
  AuditVerifyReport Verify() {
    auto r = VerifyAudit(*repo_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AuditVerifyReport{};
  }
  // The one problem a verify finds (fails unless there is exactly one).
  AuditProblem OnlyProblem() {
    AuditVerifyReport r = Verify();
    std::string all;
    for (const auto& p : r.problems) all += p.kind + ": " + p.message + "\n";
    EXPECT_EQ(r.problems.size(), 1u) << all;
    return r.problems.empty() ? AuditProblem{} : r.problems[0];
  }

  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(AuditTest, AppendChainsAndReadReturnsEntriesInOrder) {
  AuditEntry a = Append("tag.golden");
  AuditEntry b = Append("tag.delete");
  EXPECT_TRUE(a.prev.empty());
  ASSERT_EQ(b.prev.size(), 1u);
  EXPECT_EQ(b.prev[0], a.id);
  EXPECT_EQ(a.id.size(), 64u);
  EXPECT_EQ(a.user, "Ada <ada@example.com>");
  EXPECT_FALSE(a.host.empty());
  auto all = ReadAudit(*repo_);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, a.id);
  EXPECT_EQ((*all)[1].id, b.id);
  EXPECT_EQ((*all)[1].details, (Json{{"n", 1}}));
  EXPECT_EQ((*all)[1].reason, "because");
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditTest, EncodeDecodeRoundTripsAndIdIsHashOfBody) {
  AuditEntry e;
  e.prev = {std::string(64, 'a')};
  e.time_ms = 1700000000123;
  e.user = "Zoë \"quoted\"\t<z@x>";
  e.host = "h";
  e.action = "model.promote";
  e.subjects = {"model:m@3", "model:m"};
  e.reason = "line\nbreak";
  e.details = Json{{"from", 2}, {"to", 3}, {"ratio", 0.125}, {"nested", {{"a", {1, 2}}}}};
  std::string line = EncodeAuditEntry(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\t'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"prev\":[\"aaaa", 0), 0u);
  auto d = DecodeAuditEntry(line);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->id, audit_internal::HexSha256(line));
  EXPECT_EQ(d->user, e.user);
  EXPECT_EQ(d->reason, e.reason);
  EXPECT_EQ(d->details, e.details);
  EXPECT_EQ(EncodeAuditEntry(*d), line);
  Json j = AuditEntryJson(*d);
  EXPECT_EQ(j["id"], d->id);
  EXPECT_EQ(j["subjects"][0], "model:m@3");
  EXPECT_TRUE(j["signature"].is_null());
  // Not canonical (a space), not JSON, wrong field order: refused.
  EXPECT_FALSE(DecodeAuditEntry(line.substr(0, line.size() - 1) + " }").ok());
  EXPECT_FALSE(DecodeAuditEntry("{\"prev\":[],garbage").ok());
  EXPECT_FALSE(DecodeAuditEntry("{\"time_ms\":1,\"prev\":[]}").ok());
}

TEST_F(AuditTest, QueryFiltersBySinceSubjectActionAndLimit) {
  Append("model.register", "model:m@1");
  Append("model.alias", "model:m@1");
  Append("tag.golden", "dataset:data@v1");
  auto r = ReadAudit(*repo_, AuditQuery{0, "model:m", "", 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
  r = ReadAudit(*repo_, AuditQuery{0, "", "model.", 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
  r = ReadAudit(*repo_, AuditQuery{0, "", "model.alias", 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
  r = ReadAudit(*repo_, AuditQuery{0, "", "", 1});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].action, "tag.golden");  // newest first with a limit
  r = ReadAudit(*repo_, AuditQuery{INT64_MAX, "", "", 0});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(AuditTest, EmptyLogReadsAndVerifiesEmpty) {
  auto r = ReadAudit(*repo_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.entries, 0);
}

TEST_F(AuditTest, EditedByteIsNamed) {
  for (int i = 0; i < 5; ++i) Append("gc");
  auto lines = Lines();
  size_t at = lines[2].find("because");
  lines[2][at] = 'B';
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "edited");
  EXPECT_EQ(p.index, 2);
  EXPECT_NE(p.message.find("entry 2 (line 3, "), std::string::npos) << p.message;
  EXPECT_NE(p.message.find("entry 3 (line 4"), std::string::npos) << p.message;
  AuditEvent ev;
  ev.action = "gc";
  EXPECT_TRUE(AppendAudit(*repo_, ev).ok());  // the tail (end of file) is intact: appends go on
}

TEST_F(AuditTest, EditedLastEntryIsNamedThroughHead) {
  for (int i = 0; i < 3; ++i) Append("gc");
  auto lines = Lines();
  lines[2][lines[2].find("because")] = 'B';
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "edited");
  EXPECT_EQ(p.index, 2);
  EXPECT_NE(p.message.find("HEAD names"), std::string::npos) << p.message;
}

TEST_F(AuditTest, DeletedLineIsNamed) {
  for (int i = 0; i < 5; ++i) Append("gc");
  auto lines = Lines();
  lines.erase(lines.begin() + 2);
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "deleted");
  EXPECT_EQ(p.index, 2);  // the entry now at index 2 names the missing one
  // Appending refuses: the log is shorter than HEAD.
  AuditEvent ev;
  ev.action = "gc";
  auto e = AppendAudit(*repo_, ev);
  EXPECT_EQ(e.status().code(), Code::kCorruption);
  EXPECT_NE(e.status().hint().find("cairn audit verify"), std::string::npos);
}

TEST_F(AuditTest, DeletedFirstLineIsNamed) {
  for (int i = 0; i < 3; ++i) Append("gc");
  auto lines = Lines();
  lines.erase(lines.begin());
  SetLines(lines);
  EXPECT_EQ(OnlyProblem().kind, "deleted");
}

TEST_F(AuditTest, SwappedLinesAreReordered) {
  for (int i = 0; i < 5; ++i) Append("gc");
  auto lines = Lines();
  std::swap(lines[1], lines[2]);
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "reordered");
  EXPECT_EQ(p.index, 1);
}

TEST_F(AuditTest, CraftedLineIsInserted) {
  std::vector<AuditEntry> es;
  for (int i = 0; i < 4; ++i) es.push_back(Append("gc"));
  AuditEntry fake = es[1];
  fake.prev = {es[0].id};
  fake.reason = "forged";
  auto lines = Lines();
  lines.insert(lines.begin() + 2, EncodeAuditEntry(fake));
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "inserted");
  EXPECT_EQ(p.index, 2);
}

TEST_F(AuditTest, TruncatedLogIsNamed) {
  for (int i = 0; i < 5; ++i) Append("gc");
  auto lines = Lines();
  lines.resize(3);
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "truncated");
  EXPECT_NE(p.message.find("HEAD records 5 entries"), std::string::npos) << p.message;
}

TEST_F(AuditTest, EditedHeadIsNamed) {
  for (int i = 0; i < 3; ++i) Append("gc");
  std::string head = ReadText(AuditHeadPath(repo_->layout()));
  size_t at = head.find("entries 3");
  ASSERT_NE(at, std::string::npos);
  head.replace(at, 9, "entries 4");
  WriteText(AuditHeadPath(repo_->layout()), head);
  EXPECT_EQ(OnlyProblem().kind, "head");
  std::filesystem::remove(AuditHeadPath(repo_->layout()));
  EXPECT_EQ(OnlyProblem().kind, "head");
}

TEST_F(AuditTest, TornTailIsRemovedByTheNextAppend) {
  Append("gc");
  AuditEntry b = Append("gc");
  std::string text = ReadText(AuditLogPath(repo_->layout()));
  WriteText(AuditLogPath(repo_->layout()), text + "{\"prev\":[\"" + b.id + "\"],\"time_ms\":1,\"us");
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.notes.size(), 1u);
  AuditEntry c = Append("gc");
  ASSERT_EQ(c.prev.size(), 1u);
  EXPECT_EQ(c.prev[0], b.id);
  EXPECT_EQ(Lines().size(), 3u);
  EXPECT_TRUE(Verify().ok());
  EXPECT_TRUE(Verify().notes.empty());
}

TEST_F(AuditTest, LinePastHeadIsRolledForward) {
  Append("gc");
  AuditEntry b = Append("gc");
  std::string head = ReadText(AuditHeadPath(repo_->layout()));
  // A whole line written, HEAD not yet updated (kill -9 between them).
  AuditEntry c = b;
  c.prev = {b.id};
  c.action = "tag.delete";
  std::string text = ReadText(AuditLogPath(repo_->layout()));
  WriteText(AuditLogPath(repo_->layout()), text + EncodeAuditEntry(c) + "\n");
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0].message);
  AuditEntry d = Append("gc");
  ASSERT_EQ(d.prev.size(), 1u);
  EXPECT_EQ(d.prev[0], audit_internal::HexSha256(EncodeAuditEntry(c)));
  EXPECT_TRUE(Verify().ok());
  EXPECT_EQ(Verify().entries, 4);
}

TEST_F(AuditTest, LinePastHeadThatDoesNotChainIsRefused) {
  AuditEntry a = Append("gc");
  Append("gc");
  AuditEntry c = a;
  c.prev = {a.id};  // follows an old entry, not the head
  c.reason = "forged";
  std::string text = ReadText(AuditLogPath(repo_->layout()));
  WriteText(AuditLogPath(repo_->layout()), text + EncodeAuditEntry(c) + "\n");
  // Following a known entry is what a merge does: accepted as pending.
  EXPECT_TRUE(Verify().ok());
  c.prev = {std::string(64, 'f')};
  WriteText(AuditLogPath(repo_->layout()), text + EncodeAuditEntry(c) + "\n");
  AuditProblem p = Verify().problems.at(0);
  EXPECT_TRUE(p.kind == "inserted" || p.kind == "deleted") << p.kind;
  AuditEvent ev;
  ev.action = "gc";
  EXPECT_EQ(AppendAudit(*repo_, ev).status().code(), Code::kCorruption);
}

TEST_F(AuditTest, TwoThreadsAppendOneChain) {
  auto work = [&] {
    auto repo = Repo::Open(dir_.path() / "repo");
    ASSERT_TRUE(repo.ok());
    for (int i = 0; i < 200; ++i) {
      AuditEvent ev;
      ev.action = "gc";
      ev.details = Json{{"i", i}};
      ASSERT_TRUE(AppendAudit(**repo, ev).ok());
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.entries, 400);
  EXPECT_EQ(v.heads.size(), 1u);
  auto all = ReadAudit(*repo_);
  ASSERT_TRUE(all.ok());
  for (size_t i = 1; i < all->size(); ++i) ASSERT_EQ((*all)[i].prev, std::vector<std::string>{(*all)[i - 1].id});
}

TEST_F(AuditTest, MergeAddsMissingEntriesAndNextAppendNamesEveryHead) {
  AuditEntry base = Append("gc");
  // A second clone: the same first entry, then its own.
  TempDir other_dir;
  auto other = testing::InitTestRepo(other_dir.path());
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(MergeAudit(**other, {base}).value(), 1);
  AuditEvent ev;
  ev.action = "model.promote";
  auto theirs = AppendAudit(**other, ev);
  ASSERT_TRUE(theirs.ok());
  AuditEntry ours = Append("tag.golden");
  auto remote = ReadAudit(**other);
  ASSERT_TRUE(remote.ok());
  std::vector<AuditEntry> reversed(remote->rbegin(), remote->rend());  // order does not matter
  auto added = MergeAudit(*repo_, reversed);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 1);
  EXPECT_EQ(MergeAudit(*repo_, reversed).value(), 0);  // idempotent
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0].message);
  EXPECT_EQ(v.heads.size(), 2u);
  AuditEntry merge = Append("gc");
  std::vector<std::string> want = {ours.id, theirs->id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(merge.prev, want);
  EXPECT_EQ(Verify().heads.size(), 1u);
  // An entry whose predecessor nobody has is refused; an altered one too.
  AuditEntry orphan = *theirs;
  orphan.prev = {std::string(64, 'e')};
  EXPECT_EQ(MergeAudit(*repo_, {orphan}).status().code(), Code::kCorruption);
  AuditEntry altered = *theirs;
  altered.reason = "changed";
  EXPECT_EQ(MergeAudit(*repo_, {altered}).status().code(), Code::kCorruption);
}

TEST_F(AuditTest, SignedEntriesVerifyAndBadOrUnknownSignaturesAreNamed) {
  ::setenv("CAIRN_AUDIT_KEY", (dir_.path() / "key.pem").c_str(), 1);
  auto key = GenerateAuditKey(*repo_, false);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->key_id.size(), 16u);
  EXPECT_EQ(GenerateAuditKey(*repo_, false).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(std::filesystem::status(key->private_path).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  AuditEntry a = Append("tag.golden");
  AuditEntry b = Append("gc");
  EXPECT_EQ(a.signature.rfind("ed25519:" + key->key_id + ":", 0), 0u) << a.signature;
  AuditVerifyReport v = Verify();
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0].message);
  EXPECT_EQ(v.signed_entries, 2);
  // A signature of another entry: bad.
  auto lines = Lines();
  std::string good = lines[1];
  lines[1] = lines[1].substr(0, lines[1].find('\t') + 1) + a.signature;
  SetLines(lines);
  AuditProblem p = OnlyProblem();
  EXPECT_EQ(p.kind, "signature");
  EXPECT_EQ(p.index, 1);
  // The public key gone: unknown key.
  lines[1] = good;
  SetLines(lines);
  std::filesystem::remove(key->public_path);
  AuditVerifyReport u = Verify();
  ASSERT_EQ(u.problems.size(), 2u);
  EXPECT_EQ(u.problems[0].kind, "signature");
  EXPECT_NE(u.problems[0].message.find("not in .cairn/keys/"), std::string::npos);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(AuditTimeTest, ParsesEpochDatesAndUtcDateTimes) {
  EXPECT_EQ(ParseAuditTime("1764633600").value(), 1764633600000);
  EXPECT_EQ(ParseAuditTime("2025-12-02").value(), 1764633600000);
  EXPECT_EQ(ParseAuditTime("2025-12-02T00:00").value(), 1764633600000);
  EXPECT_EQ(ParseAuditTime("2025-12-02 00:00:30Z").value(), 1764633630000);
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-12-02T25:00", "2026-12-02T10:00:0", "2026-12-02x"}) {
    EXPECT_EQ(ParseAuditTime(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(AuditTimeTest, OneParserForSinceAndAt) {
  // Impossible dates are refused by both, not rolled into the next month.
  for (const char* bad : {"2026-02-30", "2025-02-29", "2026-04-31", "2026-12-02T01:56:42+2", "2026-12-02T-1:00", " "}) {
    EXPECT_EQ(ParseAuditTime(bad).status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(ParseHistoryTime(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ParseAuditTime("2028-02-29").ok());
  // Offsets and fractions are taken by both.
  EXPECT_EQ(ParseAuditTime("2026-12-02T01:56:42+02:00").value(), ParseAuditTime("2026-12-01T23:56:42Z").value());
  EXPECT_EQ(ParseAuditTime("2026-12-02T01:56:42+02:00").value(), ParseHistoryTime("2026-12-02T01:56:42+02:00").value());
  EXPECT_EQ(ParseAuditTime("2025-12-02T00:00:00.250Z").value(), 1764633600250);
  // A date alone: its start for --since, its end for --at.
  EXPECT_EQ(ParseAuditTime("2025-12-02").value(), 1764633600000);
  EXPECT_EQ(ParseHistoryTime("2025-12-02").value(), 1764633600000 + 86400000 - 1);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(AuditJsonCheckTest, AgreesWithAFullParser) {
  for (const char* text : {"{}", "[]", "{\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\\n\"]}", " { \"a\" : { } } ", "0",
                           "\"\\\\\"", "{\"a\":1,\"b\":[[],[{}]]}", "-0.0E-1"}) {
    EXPECT_TRUE(audit_internal::IsJson(text)) << text;
    EXPECT_TRUE(Json::accept(text)) << text;
  }
  for (const char* text : {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{,}", "01", "1.", "-", "\"\\x\"", "\"\\u12\"",
                           "tru", "nul", "{\"a\":1}x", "\"a\tb\"", "[1 2]", "{\"a\":1,}", "1e"}) {
    EXPECT_FALSE(audit_internal::IsJson(text)) << text;
    EXPECT_FALSE(Json::accept(text)) << text;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(audit_internal::IsJson(deep + std::string(100, ']')));  // deeper than any entry needs
}

}  // namespace
}  // namespace cairn
