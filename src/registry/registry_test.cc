// Unit tests of the model registry: names and refs, the version object,
// registration from a run (with its true provenance), aliases, deprecation,
// approvals, get, model inputs and gc roots.
#include <gtest/gtest.h>

#include <thread>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/gate.h"
#include "cairn/gc_roots.h"
#include "cairn/refs.h"
#include "cairn/registry.h"
#include "audit/audit_internal.h"
#include "registry/promote_lock.h"
#include "registry/registry_internal.h"
#include "tracking/tracker_test_fixture.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::WriteText;
namespace fs = std::filesystem;

TEST(ModelNamesTest, AliasNames) {
  EXPECT_TRUE(ValidateAliasName("production").ok());
  EXPECT_TRUE(ValidateAliasName("champion_2-b").ok());
  for (const char* bad : {"", "latest", "v3", "3", "a b", "a.b", "a/b"}) {
    Status s = ValidateAliasName(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ValidateAliasName("v3").message().find("reserved"), std::string::npos);
  EXPECT_NE(ValidateAliasName("latest").message().find("reserved"), std::string::npos);
  EXPECT_FALSE(ValidateAliasName(std::string(256, 'a')).ok());
  EXPECT_TRUE(ValidateAliasName(std::string(255, 'a')).ok());
  EXPECT_TRUE(ValidateModelName("bert.base-2_x").ok());
  EXPECT_FALSE(ValidateModelName(".hidden").ok());
  EXPECT_FALSE(ValidateModelName("a/b").ok());
  // Case variants of reserved names, a leading '-', names with '..'.
  for (const char* bad : {"V3", "LATEST", "Latest", "-prod"}) {
    EXPECT_EQ(ValidateAliasName(bad).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateAliasName("v3a").ok());
  for (const char* bad : {"-m", ".m", "a..b"}) EXPECT_FALSE(ValidateModelName(bad).ok()) << bad;
  EXPECT_TRUE(ValidateModelName("a.b").ok());
  // Which character is refused, whole.
  Status accented = ValidateModelName("mod\xc3\xa8le");
  EXPECT_NE(accented.message().find("not '\xc3\xa8' (only ASCII letters"), std::string::npos) << accented.message();
  EXPECT_NE(ValidateAliasName("a b").message().find("not a space"), std::string::npos);
}

TEST(ModelNamesTest, Refs) {
  auto r = ParseModelRef("model:retriever@3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->model, "retriever");
  EXPECT_EQ(r->version, 3);
  r = ParseModelRef("retriever@v12");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->version, 12);
  r = ParseModelRef("retriever@production");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->alias, "production");
  r = ParseModelRef("retriever");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->alias, "latest");
  EXPECT_EQ(ParseModelRef("retriever@0").status().code(), Code::kInvalidArgument);
  EXPECT_NE(ParseModelRef("retriever@0").status().message().find("numbered from 1"), std::string::npos);
  auto huge = ParseModelRef("retriever@99999999999999999999999");
  EXPECT_NE(huge.status().message().find("too large"), std::string::npos) << huge.status().message();
  EXPECT_EQ(ParseModelRef("retriever@007")->version, 7);
  EXPECT_EQ(ParseModelRef("retriever@").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseModelRef("model:").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(IsModelRef("model:x"));
  EXPECT_FALSE(IsModelRef("data/raw@v1"));
}

TEST(ModelVersionObjectTest, EncodeDecodeRoundTrip) {
  ModelVersion v;
  v.model = "m";
  v.version = 2;
  v.artifact = ModelArtifact{ObjectKind::kTree, Oid::Of("t"), "weights", "weights", 10, 2};
  v.run = std::string(32, 'a');
  v.run_record = Oid::Of("r");
  v.params = {{"k", "3"}};
  v.metrics = {{"mrr", 0.7125}, {"nan", std::nan("")}};
  v.env = {{"git.commit", "abc"}};
  v.datasets = {ModelDataset{"data/raw", Oid::Of("d"), {"v1"}, true, false}};
  v.signature = ModelSignature{{{"age", "integer"}}, "file:sig.json"};
  v.tags = {{"team", "search"}};
  v.message = "hello";
  v.user = "U <u@x>";
  v.host = "h";
  v.time_ms = 1234;
  std::string enc = v.Encode();
  EXPECT_TRUE(enc.starts_with("{\n \"artifact\""));  // sorted keys, house style
  auto d = ModelVersion::Decode(enc, "test");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->Encode(), enc);
  EXPECT_EQ(d->metrics.at("mrr"), 0.7125);
  EXPECT_TRUE(std::isnan(d->metrics.at("nan")));
  EXPECT_EQ(d->datasets[0].tags, std::vector<std::string>{"v1"});
  // A file name that would leave `model get`'s directory is damage.
  v.artifact.filename = "../x";
  EXPECT_EQ(ModelVersion::Decode(v.Encode(), "test").status().code(), Code::kCorruption);
  EXPECT_EQ(ModelVersion::Decode("{}", "test").status().code(), Code::kCorruption);
}

class ModelRegistryTest : public testing::TrackerFixture {
 protected:
  void SetUp() override {
    TrackerFixture::SetUp();
    WriteText(repo_->Abs("data/raw/a.csv"), "x,y\n1,2\n");
    auto added = Add(*repo_, {repo_->Abs("data/raw").string()}, AddOptions{});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    raw_ = (*added)[0].version;
    ASSERT_TRUE(CreateTag(*repo_, Tag{"data/raw", "v1", raw_, false, "me", 1, ""}).ok());
  }

  // An ended run that read data/raw@v1 and logged `files`.
  std::string TrainedRun(const std::map<std::string, std::string>& files) {
    StartRunOptions o;
    o.inputs = {"data/raw@v1"};
    o.params = {{"lr", "0.1"}};
    o.workspace_inputs = false;
    auto run = tracker_->StartRun(o);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_TRUE(tracker_->LogMetrics(*run, {MetricPoint{"mrr", 0.5, 0, 1}, MetricPoint{"mrr", 0.75, 1, 2}}).ok());
    for (const auto& [path, bytes] : files) EXPECT_TRUE(tracker_->LogUserArtifactBytes(*run, path, bytes).ok());
    EXPECT_TRUE(tracker_->EndRun(*run, RunStatus::kFinished).ok());
    return *run;
  }

  Result<ModelVersionState> Register(const std::string& model, const std::string& run, const std::string& artifact) {
    RegisterOptions o;
    o.model = model;
    o.run = run;
    o.artifact = artifact;
    return RegisterModel(*tracker_, o);
  }

  Oid raw_;
};

TEST_F(ModelRegistryTest, RegisterFromRunRecordsTrueProvenance) {
  std::string run = TrainedRun({{"model.bin", "MODEL"}});
  auto st = Register("m", run, "model.bin");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const ModelVersion& v = st->version;
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.artifact.kind, ObjectKind::kBlob);
  EXPECT_EQ(v.artifact.object, Oid::Of("MODEL"));
  EXPECT_EQ(v.artifact.filename, "model.bin");
  EXPECT_EQ(v.run, run);
  auto info = tracker_->GetRun(run);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(v.run_record, info->record);
  EXPECT_EQ(v.params.at("lr"), "0.1");
  EXPECT_EQ(v.metrics.at("mrr"), 0.75);  // the latest value
  ASSERT_EQ(v.datasets.size(), 1u);
  EXPECT_EQ(v.datasets[0].dataset, "data/raw");
  EXPECT_EQ(v.datasets[0].version, raw_);
  EXPECT_EQ(v.datasets[0].tags, std::vector<std::string>{"v1"});
  EXPECT_TRUE(v.datasets[0].direct);
  // What was stored is what is read back.
  auto again = ResolveModel(*repo_, "m@1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->oid, st->oid);
  EXPECT_EQ(again->version.Encode(), v.Encode());

  auto second = Register("m", run, "model.bin");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version.version, 2);
  auto latest = ResolveModel(*repo_, "m");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version.version, 2);
  EXPECT_EQ(ResolveModel(*repo_, "model:m@v1")->version.version, 1);
  auto models = ListModels(*repo_);
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].versions, 2);
  EXPECT_EQ((*models)[0].latest, 2);
}

TEST_F(ModelRegistryTest, RegisterRefusals) {
  std::string run = TrainedRun({{"model.bin", "M"}, {"plots/loss.png", "P"}});
  auto st = Register("m", run, "model.pkl");
  EXPECT_EQ(st.status().code(), Code::kInvalidArgument);
  EXPECT_NE(st.status().message().find("never logged"), std::string::npos);
  EXPECT_NE(st.status().hint().find("model.bin"), std::string::npos) << st.status().hint();

  StartRunOptions o;
  o.workspace_inputs = false;
  auto running = tracker_->StartRun(o);
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(tracker_->LogUserArtifactBytes(*running, "model.bin", "M").ok());
  EXPECT_EQ(Register("m", *running, "model.bin").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Register("bad/name", run, "model.bin").status().code(), Code::kInvalidArgument);
  RegisterOptions both;
  both.model = "m";
  both.run = run;
  both.artifact = "model.bin";
  both.path = "x";
  EXPECT_EQ(RegisterModel(*tracker_, both).status().code(), Code::kInvalidArgument);
  // Nothing was registered.
  EXPECT_EQ(ResolveModel(*repo_, "m").status().code(), Code::kNotFound);
}

TEST_F(ModelRegistryTest, DirectoryArtifactAndGet) {
  std::string run = TrainedRun({{"weights/a.bin", "AAA"}, {"weights/sub/b.bin", "BB"}, {"other.txt", "O"}});
  auto st = Register("m", run, "weights/");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->version.artifact.kind, ObjectKind::kTree);
  EXPECT_EQ(st->version.artifact.files, 2u);
  EXPECT_EQ(st->version.artifact.size, 5u);

  fs::path out = dir_.path() / "deploy";
  auto got = GetModel(*repo_, "m@1", out, false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadText(out / "weights/a.bin"), "AAA");
  EXPECT_EQ(ReadText(out / "weights/sub/b.bin"), "BB");
  EXPECT_FALSE(fs::exists(out / "weights/other.txt"));
  Json prov = Json::parse(ReadText(out / "provenance.json"));
  EXPECT_EQ(prov["version"], 1);
  EXPECT_EQ(prov["datasets"][0]["version"], raw_.ToString());
  ASSERT_EQ(prov["artifact"]["sha256"].size(), 2u);
  EXPECT_EQ(prov["artifact"]["sha256"][0]["sha256"], Oid::Of("AAA").Hex());

  // A directory that is not empty is refused without --force, untouched.
  WriteText(out / "mine.txt", "keep");
  auto refused = GetModel(*repo_, "m@1", out, false);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ReadText(out / "mine.txt"), "keep");
  auto forced = GetModel(*repo_, "m@1", out, true);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_FALSE(fs::exists(out / "mine.txt"));
  EXPECT_EQ(ReadText(out / "weights/a.bin"), "AAA");
  // Never the repository or a directory holding it, even with force.
  EXPECT_EQ(GetModel(*repo_, "m@1", dir_.path(), true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(GetModel(*repo_, "m@1", dir_.path() / ".cairn", true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(GetModel(*repo_, "m@1", dir_.path() / ".cairn/refs", true).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(fs::exists(repo_->layout().config()));
  // No temp directories left beside it.
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".cairn-")) << e.path();
  }
}

TEST_F(ModelRegistryTest, AliasesDeprecationApprovals) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  auto a = SetAlias(*repo_, "m@1", "production", "first");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->version, 1);
  EXPECT_FALSE(a->audit_entry.empty());
  auto prod = ResolveModel(*repo_, "m@production");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(prod->version.version, 1);
  EXPECT_EQ(prod->aliases, std::vector<std::string>{"production"});
  ASSERT_TRUE(SetAlias(*repo_, "m@2", "production", "better").ok());
  EXPECT_EQ(ResolveModel(*repo_, "m@production")->version.version, 2);

  auto missing = ResolveModel(*repo_, "m@staging");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().hint().find("production (v2)"), std::string::npos) << missing.status().hint();
  EXPECT_NE(missing.status().hint().find("1, 2"), std::string::npos);
  auto no_version = ResolveModel(*repo_, "m@7");
  EXPECT_EQ(no_version.status().code(), Code::kNotFound);
  EXPECT_EQ(ResolveModel(*repo_, "nope").status().code(), Code::kNotFound);
  EXPECT_NE(ResolveModel(*repo_, "n").status().hint().find("m"), std::string::npos);
  EXPECT_EQ(SetAlias(*repo_, "m@1", "latest", "").status().code(), Code::kInvalidArgument);

  auto dep = DeprecateModel(*repo_, "m@1", "leaks test data");
  ASSERT_TRUE(dep.ok()) << dep.status().ToString();
  EXPECT_TRUE(dep->deprecated);
  EXPECT_EQ(DeprecateModel(*repo_, "m@1", "again").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(SetAlias(*repo_, "m@1", "staging", "").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ResolveModel(*repo_, "m@1")->deprecated_reason, "leaks test data");

  auto ap = ApproveModel(*repo_, "m@2", "looked at it");
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  EXPECT_EQ(ap->user, repo_->Author());
  auto two = ResolveModel(*repo_, "m@2");
  ASSERT_EQ(two->approvals.size(), 1u);
  EXPECT_EQ(two->approvals[0].message, "looked at it");
  EXPECT_EQ(two->approvals[0].audit_entry, ap->audit_entry);

  // Every change is in the audit log, with what it is about.
  auto entries = ReadAudit(*repo_, AuditQuery{0, "model:m", "model.", 0});
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> actions;
  for (const AuditEntry& e : *entries) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"model.register", "model.register", "model.alias", "model.alias",
                                               "model.deprecate", "model.approve"}));
  const AuditEntry& moved = (*entries)[3];
  EXPECT_EQ(moved.subjects[0], "model:m@2");
  EXPECT_EQ(moved.subjects[2], ResolveModel(*repo_, "m@2")->oid.ToString());
  EXPECT_EQ(moved.details["from"], 1);
  EXPECT_EQ(moved.details["to"], 2);
  EXPECT_EQ(moved.reason, "better");
  EXPECT_EQ(ReadAlias(*repo_, "m", "production")->value().audit_entry, moved.id);
  ASSERT_TRUE(DeleteAlias(*repo_, "m", "production", "").ok());
  EXPECT_EQ(DeleteAlias(*repo_, "m", "production", "").code(), Code::kNotFound);
  EXPECT_EQ(ResolveModel(*repo_, "m@production").status().code(), Code::kNotFound);
  auto versions = ListModelVersions(*repo_, "m");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_TRUE((*versions)[0].deprecated);
  EXPECT_FALSE((*versions)[1].deprecated);
}

TEST_F(ModelRegistryTest, ModelRefAsRunInput) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  auto st = Register("m", run, "model.bin");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "production", "").ok());
  StartRunOptions o;
  o.workspace_inputs = false;
  auto eval = tracker_->StartRun(o);
  ASSERT_TRUE(eval.ok());
  auto in = tracker_->AddInput(*eval, "model:m@production");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->dataset, "model:m");
  EXPECT_EQ(in->version, st->oid);
  EXPECT_EQ(in->tag, "production");
  ASSERT_TRUE(tracker_->EndRun(*eval, RunStatus::kFinished).ok());
  auto info = tracker_->GetRun(*eval);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->inputs.size(), 1u);
  EXPECT_EQ(info->inputs[0].dataset, "model:m");
  EXPECT_EQ(info->inputs[0].version, st->oid);
  EXPECT_EQ(ModelInput(*repo_, "model:m@latest")->tag, "v1");
}

TEST_F(ModelRegistryTest, GcRootsKeepVersionArtifactAndRecord) {
  std::string run = TrainedRun({{"w/a.bin", "AAA"}, {"w/b.bin", "BB"}});
  auto st = Register("m", run, "w");
  ASSERT_TRUE(st.ok());
  GcRootSet roots;
  ASSERT_TRUE(ContributeModelRoots(*repo_, GcRootOptions{}, &roots).ok());
  EXPECT_TRUE(roots.objects.count(st->oid));
  EXPECT_TRUE(roots.objects.count(st->version.artifact.object));
  EXPECT_TRUE(roots.objects.count(Oid::Of("AAA")));
  EXPECT_TRUE(roots.objects.count(Oid::Of("BB")));
  EXPECT_TRUE(roots.objects.count(*st->version.run_record));
  auto names = DefaultGcRoots().names();
  EXPECT_NE(std::find(names.begin(), names.end(), "models"), names.end());
}

TEST_F(ModelRegistryTest, ConcurrentRegistrationsGetDistinctNumbers) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  constexpr int kThreads = 4;
  std::vector<int64_t> got(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto repo = Repo::Open(dir_.path());
      if (!repo.ok()) return;
      auto tracker = Tracker::Open(**repo);
      if (!tracker.ok()) return;
      RegisterOptions o;
      o.model = "m";
      o.run = run;
      o.artifact = "model.bin";
      auto st = RegisterModel(**tracker, o);
      if (st.ok()) got[i] = st->version.version;
    });
  }
  for (auto& t : threads) t.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(ModelRegistryTest, CheckRegistryFindsDamage) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  auto one = Register("m", run, "model.bin");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@2", "production", "").ok());
  auto clean = CheckRegistry(*repo_);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_TRUE(clean->empty());
  // Version 2's ref names version 1's object: the alias disagrees too.
  WriteText(repo_->layout().model_version("m", 2), one->oid.ToString() + "\n");
  WriteText(repo_->layout().model_deprecation("m", 1), "garbage\n");
  auto found = CheckRegistry(*repo_);
  ASSERT_TRUE(found.ok());
  std::vector<std::string> refs;
  for (const RegistryProblem& p : *found) refs.push_back(p.ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"model:m@1", "model:m@2", "model:m@production"}));
  EXPECT_EQ(ResolveModel(*repo_, "m@2").status().code(), Code::kCorruption);
}

TEST_F(ModelRegistryTest, DamagedAndForgedAliasesAreSkippedWithAWarning) {
  std::string run = TrainedRun({{"model.bin", "M"}, {"other.bin", "O"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  auto other = Register("other", run, "other.bin");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "production", "").ok());
  // A junk alias, and a forged one naming another model's object as version 1.
  WriteText(repo_->layout().model_alias("m", "junk"), "junk\n");
  WriteText(repo_->layout().model_alias("m", "evil"),
            "cairn-alias 1\nversion 1\nobject " + other->oid.ToString() + "\naudit 00\nuser u\ntime 1\n");
  std::vector<RegistryProblem> skipped;
  auto aliases = ListAliases(*repo_, "m", &skipped);
  ASSERT_TRUE(aliases.ok()) << aliases.status().ToString();
  ASSERT_EQ(aliases->size(), 1u);
  EXPECT_EQ((*aliases)[0].alias, "production");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].ref, "model:m@evil");
  EXPECT_EQ(skipped[0].file, ".cairn/refs/models/m/aliases/evil");
  EXPECT_EQ(skipped[1].ref, "model:m@junk");

  // Every listing leaves them out and says so; resolving one of them fails.
  auto one = ResolveModel(*repo_, "m@1");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->aliases, std::vector<std::string>{"production"});
  EXPECT_EQ(one->warnings.size(), 2u);
  auto models = ListModels(*repo_);
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  EXPECT_EQ((*models)[0].aliases.size(), 1u);
  EXPECT_EQ((*models)[0].warnings.size(), 2u);
  EXPECT_EQ(ResolveModel(*repo_, "m@evil").status().code(), Code::kCorruption);
  EXPECT_EQ(ResolveModel(*repo_, "m@junk").status().code(), Code::kCorruption);
  fs::path out = dir_.path() / "deploy";
  auto got = GetModel(*repo_, "m@1", out, false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Json::parse(ReadText(out / "provenance.json"))["aliases"], Json::array({"production"}));

  auto found = CheckRegistry(*repo_);
  ASSERT_TRUE(found.ok());
  std::vector<std::string> refs;
  for (const RegistryProblem& p : *found) refs.push_back(p.ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"model:m@evil", "model:m@junk"}));
  // Moving or deleting a damaged alias repairs it.
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "junk", "").ok());
  ASSERT_TRUE(DeleteAlias(*repo_, "m", "evil", "").ok());
  EXPECT_TRUE(CheckRegistry(*repo_)->empty());
}

TEST_F(ModelRegistryTest, CheckRegistryFindsDamagedVersionRefs) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  WriteText(repo_->layout().model_version("m", 7), "sha256:" + std::string(64, '0') + "\n");
  auto found = CheckRegistry(*repo_);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].ref, "model:m@7");
  WriteText(repo_->layout().model_version("m", 7), "garbage\n");
  found = CheckRegistry(*repo_);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].ref, "model:m@7");
  // The list still works, and says what it could not read.
  auto models = ListModels(*repo_);
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  EXPECT_EQ((*models)[0].warnings.size(), 1u);
}

TEST_F(ModelRegistryTest, DeletingAnAliasOfAnotherVersionIsRefused) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "production", "").ok());
  Status s = DeleteAlias(*repo_, "m", "production", "", 2);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("production names v1, not v2"), std::string::npos) << s.message();
  EXPECT_EQ(ResolveModel(*repo_, "m@production")->version.version, 1);
  EXPECT_TRUE(DeleteAlias(*repo_, "m", "production", "", 1).ok());
}

TEST_F(ModelRegistryTest, ArtifactNamedProvenanceJsonIsRefused) {
  std::string run = TrainedRun({{"provenance.json", "{}"}, {"out/provenance.json", "{}"}});
  auto st = Register("m", run, "provenance.json");
  EXPECT_EQ(st.status().code(), Code::kInvalidArgument);
  EXPECT_NE(st.status().message().find("provenance.json"), std::string::npos);
  EXPECT_EQ(Register("m", run, "out/provenance.json").status().code(), Code::kInvalidArgument);
  // Inside a directory artifact it is written as DIR/out/provenance.json: no clash.
  auto dir = Register("m", run, "out");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  auto got = GetModel(*repo_, "m@1", dir_.path() / "deploy", false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadText(dir_.path() / "deploy/out/provenance.json"), "{}");
}

TEST_F(ModelRegistryTest, GetChecksSizesAgainstTheBytesWritten) {
  std::string run = TrainedRun({{"model.bin", "MODEL"}});
  auto st = Register("m", run, "model.bin");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->version.run_status, "FINISHED");
  // A crafted version object claiming another size.
  ModelVersion forged = st->version;
  forged.artifact.size = 999;
  auto oid = repo_->store().PutObjectDurable(forged.Encode());
  ASSERT_TRUE(oid.ok());
  WriteText(repo_->layout().model_version("m", 1), oid->ToString() + "\n");
  auto got = GetModel(*repo_, "m@1", dir_.path() / "deploy", false);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_NE(got.status().message().find("5 bytes but the version says 999"), std::string::npos)
      << got.status().message();
  EXPECT_FALSE(fs::exists(dir_.path() / "deploy"));
  // The true object: provenance.json reports the bytes written.
  WriteText(repo_->layout().model_version("m", 1), st->oid.ToString() + "\n");
  got = GetModel(*repo_, "m@1", dir_.path() / "deploy", false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->artifact, dir_.path() / "deploy" / "model.bin");
  Json prov = Json::parse(ReadText(dir_.path() / "deploy/provenance.json"));
  EXPECT_EQ(prov["artifact"]["size"], 5);
  EXPECT_EQ(prov["artifact"]["sha256"][0]["size"], 5);
  EXPECT_EQ(prov["run"]["status"], "FINISHED");
}

TEST_F(ModelRegistryTest, RunStatusIsRecorded) {
  StartRunOptions o;
  o.workspace_inputs = false;
  auto run = tracker_->StartRun(o);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(tracker_->LogUserArtifactBytes(*run, "model.bin", "M").ok());
  ASSERT_TRUE(tracker_->EndRun(*run, RunStatus::kFailed).ok());
  auto st = Register("m", *run, "model.bin");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->version.run_status, "FAILED");
  EXPECT_EQ(ResolveModel(*repo_, "m@1")->version.run_status, "FAILED");
  EXPECT_EQ(ModelVersionJson(*st)["run_status"], "FAILED");
  // An object written before the field existed decodes with none.
  ModelVersion old = st->version;
  old.run_status.clear();
  auto decoded = ModelVersion::Decode(old.Encode(), "test");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->run_status, "");
  EXPECT_EQ(old.Encode().find("run_status"), std::string::npos);
}

// A registration killed after its audit entry, before its version ref: the
// next registration writes the missing ref instead of taking the number again.
TEST_F(ModelRegistryTest, InterruptedRegistrationIsRolledForward) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  auto one = Register("m", run, "model.bin");
  ASSERT_TRUE(one.ok());
  ModelVersion two = one->version;
  two.version = 2;
  two.message = "killed";
  auto oid = repo_->store().PutObjectDurable(two.Encode());
  ASSERT_TRUE(oid.ok());
  WriteText(repo_->layout().model("m") / "pending",
            "cairn-model-pending 1\nversion 2\nobject " + oid->ToString() + "\n");
  // gc keeps it meanwhile.
  GcRootSet roots;
  ASSERT_TRUE(ContributeModelRoots(*repo_, GcRootOptions{}, &roots).ok());
  EXPECT_TRUE(roots.objects.count(*oid));
  AuditEvent event;
  event.action = "model.register";
  event.subjects = {"model:m@2", "model:m", oid->ToString()};
  ASSERT_TRUE(AppendAudit(*repo_, event).ok());
  EXPECT_EQ(ResolveModel(*repo_, "m@2").status().code(), Code::kNotFound);

  auto three = Register("m", run, "model.bin");
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->version.version, 3);
  auto rolled = ResolveModel(*repo_, "m@2");
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_EQ(rolled->oid, *oid);
  EXPECT_EQ(rolled->version.message, "killed");
  EXPECT_FALSE(fs::exists(repo_->layout().model("m") / "pending"));

  // Killed before its audit entry: nothing claims the number; it is reused.
  ModelVersion four = one->version;
  four.version = 4;
  auto unrecorded = repo_->store().PutObjectDurable(four.Encode());
  ASSERT_TRUE(unrecorded.ok());
  WriteText(repo_->layout().model("m") / "pending",
            "cairn-model-pending 1\nversion 4\nobject " + unrecorded->ToString() + "\n");
  auto next = Register("m", run, "model.bin");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->version.version, 4);
  EXPECT_NE(next->oid, *unrecorded);
  EXPECT_FALSE(fs::exists(repo_->layout().model("m") / "pending"));
  EXPECT_TRUE(CheckRegistry(*repo_)->empty());
}

// An alias moved while a promotion's gates run: `model alias` waits for the
// promotion (the alias lock), and a move that gets past it anyway (a pull
// writes aliases under the repository lock only) makes the promotion fail
// instead of replacing a holder its gates never compared with.
TEST_F(ModelRegistryTest, PromotionDoesNotReplaceAnAliasMovedWhileItsGatesRan) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "production", "").ok());
  Oid three = ResolveModel(*repo_, "m@3")->oid;
  Status during;
  PromoteAfterGatesHookForTesting() = [&] {
    ::setenv("CAIRN_LOCK_TIMEOUT", "0.2", 1);
    auto other = Repo::Open(dir_.path());
    during = other.ok() ? SetAlias(**other, "m@3", "production", "meanwhile").status() : other.status();
    ::unsetenv("CAIRN_LOCK_TIMEOUT");
    WriteText(repo_->layout().model_alias("m", "production"),
              "cairn-alias 1\nversion 3\nobject " + three.ToString() + "\naudit pulled\nuser u\ntime 1\n");
  };
  auto promoted = PromoteModel(*repo_, "m@2", "production", PromoteOptions{});
  PromoteAfterGatesHookForTesting() = nullptr;
  EXPECT_EQ(during.code(), Code::kBusy) << during.ToString();
  ASSERT_FALSE(promoted.ok());
  EXPECT_EQ(promoted.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(promoted.status().message().find("m@production moved while the gates ran (v1 -> v3)"), std::string::npos)
      << promoted.status().ToString();
  EXPECT_EQ(ReadAlias(*repo_, "m", "production")->value().version, 3);
  auto moves = ReadAudit(*repo_, AuditQuery{0, "model:m", "model.promote", 0});
  ASSERT_TRUE(moves.ok());
  EXPECT_TRUE(moves->empty());
  // Unhindered, it moves.
  auto again = PromoteModel(*repo_, "m@2", "production", PromoteOptions{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->moved);
  EXPECT_EQ(ReadAlias(*repo_, "m", "production")->value().version, 2);
}

// A change killed between its audit entry and its ref (the hook stands in
// for kill -9) is completed by the next change of the model; one killed
// before its entry is forgotten.
TEST_F(ModelRegistryTest, InterruptedChangesAreRolledForward) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "production", "").ok());
  fs::path intent = repo_->layout().model("m") / "intent";
  auto killed_at = [&](const std::string& action) {
    registry_internal::AfterAuditHookForTesting() = [action](const std::string& a) {
      return a == action ? Status::IOError("killed") : Status::OK();
    };
  };
  auto last_entry = [&](const std::string& action) {
    auto e = ReadAudit(*repo_, AuditQuery{0, "model:m", action, 1});
    return e.ok() && !e->empty() ? (*e)[0].id : std::string();
  };

  killed_at("model.alias");
  EXPECT_FALSE(SetAlias(*repo_, "m@2", "production", "killed").ok());
  EXPECT_TRUE(fs::exists(intent));
  EXPECT_EQ(ReadAlias(*repo_, "m", "production")->value().version, 1);
  killed_at("model.approve");
  EXPECT_FALSE(ApproveModel(*repo_, "m@3", "killed too").ok());
  // The approval's attempt completed the alias move first.
  auto alias = ReadAlias(*repo_, "m", "production");
  ASSERT_TRUE(alias.ok() && alias->has_value());
  EXPECT_EQ((*alias)->version, 2);
  EXPECT_EQ((*alias)->audit_entry, last_entry("model.alias"));
  EXPECT_TRUE(ResolveModel(*repo_, "m@3")->approvals.empty());

  killed_at("model.deprecate");
  EXPECT_FALSE(DeprecateModel(*repo_, "m@1", "killed").ok());
  auto approved = ResolveModel(*repo_, "m@3");
  ASSERT_EQ(approved->approvals.size(), 1u);
  EXPECT_EQ(approved->approvals[0].audit_entry, last_entry("model.approve"));
  EXPECT_EQ(approved->approvals[0].message, "killed too");

  killed_at("model.alias.delete");
  EXPECT_FALSE(DeleteAlias(*repo_, "m", "production", "killed").ok());
  EXPECT_TRUE(ResolveModel(*repo_, "m@1")->deprecated);
  EXPECT_EQ(ResolveModel(*repo_, "m@1")->deprecated_reason, "killed");

  killed_at("model.promote");
  EXPECT_FALSE(PromoteModel(*repo_, "m@3", "staging", PromoteOptions{}).ok());
  EXPECT_FALSE(ReadAlias(*repo_, "m", "production")->has_value());
  registry_internal::AfterAuditHookForTesting() = nullptr;
  EXPECT_FALSE(ReadAlias(*repo_, "m", "staging")->has_value());
  auto next = PromoteModel(*repo_, "m@2", "canary", PromoteOptions{});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(ReadAlias(*repo_, "m", "staging")->value().version, 3);
  EXPECT_FALSE(fs::exists(intent));

  // Killed before its entry: nothing happened, and nothing is done.
  WriteText(intent, "cairn-model-intent 1\naction model.alias\nnonce 00ff\nversion 1\nobject " +
                        ResolveModel(*repo_, "m@1")->oid.ToString() + "\nalias canary\nfrom 2\n");
  ASSERT_TRUE(ApproveModel(*repo_, "m@2", "").ok());
  EXPECT_EQ(ReadAlias(*repo_, "m", "canary")->value().version, 2);
  EXPECT_FALSE(fs::exists(intent));
  // An alias moved since the interrupted change (a pull) is left alone.
  killed_at("model.alias");
  EXPECT_FALSE(SetAlias(*repo_, "m@3", "canary", "killed").ok());
  registry_internal::AfterAuditHookForTesting() = nullptr;
  ASSERT_TRUE(DeleteAlias(*repo_, "m", "staging", "").ok());  // rolls canary forward to v3
  EXPECT_EQ(ReadAlias(*repo_, "m", "canary")->value().version, 3);
  EXPECT_TRUE(CheckRegistry(*repo_)->empty());
}

TEST_F(ModelRegistryTest, ApprovalWithABlankIdentityIsRefused) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  const char* saved = std::getenv("CAIRN_AUTHOR");
  std::string before = saved ? saved : "";
  for (const char* blank : {"", " ", " <> "}) {
    ::setenv("CAIRN_AUTHOR", blank, 1);
    auto a = ApproveModel(*repo_, "m@1", "");
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument) << "'" << blank << "'";
    EXPECT_NE(a.status().hint().find("CAIRN_AUTHOR"), std::string::npos);
  }
  if (saved) ::setenv("CAIRN_AUTHOR", before.c_str(), 1);
  else ::unsetenv("CAIRN_AUTHOR");
  EXPECT_TRUE(ResolveModel(*repo_, "m@1")->approvals.empty());
  EXPECT_TRUE(ApproveModel(*repo_, "m@1", "").ok());
}

TEST_F(ModelRegistryTest, AliasDifferingOnlyInCaseIsRefused) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  ASSERT_TRUE(Register("m", run, "model.bin").ok());
  WriteText(repo_->Abs("cairn.yaml"), "models:\n  m:\n    alias_gates:\n      production:\n        - approvals: 5\n");
  auto promoted = PromoteModel(*repo_, "m@1", "Production", PromoteOptions{});
  EXPECT_EQ(promoted.status().code(), Code::kInvalidArgument);
  EXPECT_NE(promoted.status().message().find("alias 'Production' differs only in case from 'production'"),
            std::string::npos)
      << promoted.status().ToString();
  EXPECT_NE(promoted.status().hint().find("use 'production'"), std::string::npos);
  EXPECT_EQ(SetAlias(*repo_, "m@1", "PRODUCTION", "").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(SetAlias(*repo_, "m@1", "staging", "").ok());
  EXPECT_EQ(SetAlias(*repo_, "m@2", "Staging", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(PromoteModel(*repo_, "m@2", "STAGING", PromoteOptions{}).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(SetAlias(*repo_, "m@2", "staging", "").ok());
  auto aliases = ListAliases(*repo_, "m");
  ASSERT_TRUE(aliases.ok());
  EXPECT_EQ(aliases->size(), 1u);
}

// After a pull merged another clone's entries, log order is not time order:
// history is in time order, and --at answers from it.
TEST_F(ModelRegistryTest, HistoryIsInTimeOrderAfterLogsMerge) {
  std::string run = TrainedRun({{"model.bin", "M"}});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Register("m", run, "model.bin").ok());
  auto three = SetAlias(*repo_, "m@3", "production", "here");
  ASSERT_TRUE(three.ok());
  // The other clone moved production to v2 a minute earlier; its entry
  // arrives after ours.
  AuditEntry theirs;
  theirs.time_ms = three->time_ms - 60000;
  theirs.user = "other";
  theirs.host = "elsewhere";
  theirs.action = "model.alias";
  theirs.subjects = {"model:m@2", "model:m", ResolveModel(*repo_, "m@2")->oid.ToString()};
  theirs.details = {{"alias", "production"}, {"from", nullptr}, {"to", 2}};
  theirs.id = audit_internal::HexSha256(audit_internal::EncodeBody(theirs));
  auto merged = MergeAudit(*repo_, {theirs});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ASSERT_EQ(*merged, 1);
  HistoryQuery all;
  all.alias = "production";
  auto events = ModelHistory(*repo_, "m", all);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].version, 2);
  EXPECT_EQ((*events)[1].version, 3);
  HistoryQuery now = all;
  now.at_ms = three->time_ms;
  auto at = ModelHistory(*repo_, "m", now);
  ASSERT_TRUE(at.ok());
  ASSERT_EQ(at->size(), 1u);
  EXPECT_EQ((*at)[0].version, 3);
  now.at_ms = three->time_ms - 1;
  EXPECT_EQ(ModelHistory(*repo_, "m", now)->at(0).version, 2);
  // 0 is a time (nothing was set then), not "no time".
  now.at_ms = 0;
  EXPECT_TRUE(ModelHistory(*repo_, "m", now)->empty());
  EXPECT_EQ(ParseHistoryTime("").status().code(), Code::kInvalidArgument);
}

TEST(ModelSignatureTest, ParsesAndRefuses) {
  auto sig = ParseSignature(R"({"columns":[{"name":"age","type":"integer"},{"name":"x","type":"number"}]})",
                            "file:s.json");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(sig->columns.size(), 2u);
  EXPECT_EQ(ParseSignature(R"({"columns":[{"name":"a","type":"float"}]})", "f").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseSignature(R"({"columns":[{"name":"a","type":"string"},{"name":"a","type":"string"}]})", "f")
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseSignature("[]", "f").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
