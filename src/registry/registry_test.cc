// Unit tests of the model registry: names and refs, the version object,
// registration from a run (with its true provenance), aliases, deprecation,
// approvals, get, model inputs and gc roots.
#include <gtest/gtest.h>

#include <thread>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/gc_roots.h"
#include "cairn/refs.h"
#include "cairn/registry.h"
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
