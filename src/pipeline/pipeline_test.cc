// cairn.yaml validation, the stage graph, params and cairn.lock, on a real
// temporary repository (no git).
#include <gtest/gtest.h>

#include "cairn/pipeline.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::InitTestRepo(dir_.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(*r);
  }
  Result<PipelineSpec> Load(const std::string& yaml) {
    WriteText(dir_.path() / "cairn.yaml", yaml);
    return LoadPipeline(*repo_);
  }
  std::string Error(const std::string& yaml) {
    auto spec = Load(yaml);
    EXPECT_FALSE(spec.ok()) << yaml;
    return spec.ok() ? "" : spec.status().message();
  }
  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(PipelineTest, OrderFollowsDataNotFileOrder) {
  auto spec = Load(
      "stages:\n"
      "  train:\n    cmd: t\n    deps: [data/prep/train.csv]\n    outs: [model.bin]\n"
      "  prep:\n    cmd: p\n    deps: [raw]\n    outs: [data/prep]\n"
      "  other:\n    cmd: o\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->order, (std::vector<std::string>{"prep", "train", "other"}));
  EXPECT_EQ(spec->upstream.at("train"), std::vector<std::string>{"prep"});
  EXPECT_EQ(spec->Producer("data/prep/x.csv")->name, "prep");
  EXPECT_EQ(spec->Producer("raw"), nullptr);
}

TEST_F(PipelineTest, ModelsSectionIsTheRegistrysAndMayStandAlone) {
  auto both = Load("models:\n  m:\n    gates: [metrics.a > 1]\nstages:\n  a:\n    cmd: x\n");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->order, std::vector<std::string>{"a"});
  auto alone = Load("models:\n  m:\n    gates: [metrics.a > 1]\n");
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_TRUE(alone->stages.empty());
  EXPECT_NE(Error("modelz: {}\n").find("(known: models, params, stages)"), std::string::npos);
}

TEST_F(PipelineTest, ErrorsNameTheLineAndWhatIsWrong) {
  EXPECT_NE(Error("stages:\n  a:\n    cmd: x\n    outz: [y]\n").find("cairn.yaml:4:5: unknown key 'outz'"),
            std::string::npos);
  EXPECT_NE(Error("stagez: {}\n").find("cairn.yaml:1:1: unknown top-level key 'stagez'"), std::string::npos);
  EXPECT_NE(Error("stages:\n  a:\n    deps: [x]\n").find("needs a 'cmd'"), std::string::npos);
  EXPECT_NE(Error("stages:\n  a: [\n").find("cairn.yaml:"), std::string::npos);
  EXPECT_NE(Error("stages:\n  a:\n    cmd: x\n    outs: [../up]\n").find("cairn.yaml:4:"), std::string::npos);
  std::string cycle = Error(
      "stages:\n"
      "  a:\n    cmd: x\n    deps: [b.out]\n    outs: [a.out]\n"
      "  b:\n    cmd: x\n    deps: [a.out]\n    outs: [b.out]\n");
  EXPECT_NE(cycle.find("cycle: a -> b -> a"), std::string::npos) << cycle;
  std::string twice = Error(
      "stages:\n  a:\n    cmd: x\n    outs: [data]\n  b:\n    cmd: y\n    outs: [data/sub]\n");
  EXPECT_NE(twice.find("overlaps output 'data' of stage 'a'"), std::string::npos) << twice;
  EXPECT_NE(Error("stages:\n  a:\n    cmd: x\n    deps: [o]\n    outs: [o]\n").find("its own output"),
            std::string::npos);
  EXPECT_NE(Error("stages:\n  a:\n    cmd: x\n    deps: {a: b}\n").find("must be a list"), std::string::npos);
}

TEST_F(PipelineTest, ParamsAreReadByDottedKey) {
  WriteText(dir_.path() / "params.yaml", "seed: 7\nsplit:\n  ratio: 0.7\n  cols: [a, b]\n");
  auto spec = Load("stages:\n  a:\n    cmd: x\n    params: [seed]\n");
  ASSERT_TRUE(spec.ok());
  auto p = ReadParams(*repo_, *spec, {"seed", "split.ratio", "split.cols"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)["seed"], "7");
  EXPECT_EQ((*p)["split.ratio"], "0.7");
  EXPECT_EQ((*p)["split.cols"], "[a, b]");
  auto missing = ReadParams(*repo_, *spec, {"split.nope"});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("split.nope"), std::string::npos);
}

TEST_F(PipelineTest, LockRoundTripsAndIsStable) {
  PipelineLock lock;
  LockedStage s;
  s.cmd = "python3 x.py --name 'a: b' # not a comment";
  s.deps["x.py"] = Oid::Of("x");
  s.params["k"] = "5";
  s.params["weird"] = "yes: no";
  s.outs["out"] = Oid::Of("v");
  s.metrics["m.json"] = Oid::Of("m");
  s.run = std::string(32, 'a');
  lock["b"] = s;
  lock["a"] = s;
  ASSERT_TRUE(SaveLock(*repo_, lock).ok());
  std::string first = ReadText(dir_.path() / "cairn.lock");
  auto back = LoadLock(*repo_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  const LockedStage& b = back->at("b");
  EXPECT_EQ(b.cmd, s.cmd);
  EXPECT_EQ(b.deps, s.deps);
  EXPECT_EQ(b.params, s.params);
  EXPECT_EQ(b.outs, s.outs);
  EXPECT_EQ(b.metrics, s.metrics);
  EXPECT_EQ(b.run, s.run);
  ASSERT_TRUE(SaveLock(*repo_, *back).ok());
  EXPECT_EQ(ReadText(dir_.path() / "cairn.lock"), first) << "saving what was loaded changes nothing";
  EXPECT_LT(first.find("  a:"), first.find("  b:")) << "stages sorted";
  EXPECT_EQ(RunCacheKey(s), RunCacheKey(b));
  LockedStage other = s;
  other.params["k"] = "6";
  EXPECT_NE(RunCacheKey(s), RunCacheKey(other));
  WriteText(dir_.path() / "cairn.lock", "format: 2\n");
  EXPECT_EQ(LoadLock(*repo_).status().code(), Code::kCorruption);
}

// Found by fuzz/lock_fuzz: yaml-cpp reads bytes that are not UTF-8 as they
// are but writes them back as U+FFFD, so a stage whose cmd held one changed
// at every save of cairn.lock and was never up to date. YAML is UTF-8:
// cairn.yaml, the params file and cairn.lock are refused, naming the line.
TEST_F(PipelineTest, YamlThatIsNotUtf8IsRefused) {
  std::string msg = Error("stages:\n  a:\n    cmd: echo caf\xe9\n");
  EXPECT_NE(msg.find("cairn.yaml:3: byte 0xE9 is not valid UTF-8"), std::string::npos) << msg;
  auto lock = ParseLock("format: 1\nstages:\n  a:\n    cmd: \"x\x99\"\n");
  EXPECT_EQ(lock.status().code(), Code::kCorruption);
  EXPECT_NE(lock.status().message().find("cairn.lock:4: byte 0x99"), std::string::npos) << lock.status().message();
  // Overlong, a surrogate, above U+10FFFF, cut short.
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    EXPECT_FALSE(ParseLock(std::string("format: 1\n# ") + bad + "\n").ok()) << bad;
  }
  // Control characters and U+FFFE/U+FFFF are not YAML either: a raw NUL in a
  // param name came back from EncodeLock as a lone byte 0x85, and U+FFFE in a
  // cmd as U+FFFD (fuzz/lock_fuzz, a 10-minute run).
  std::string nul = Error(std::string("stages:\n  a:\n    cmd: x\n    params: [k") + '\0' + "]\n");
  EXPECT_NE(nul.find("cairn.yaml:4: character U+0000 is not allowed in YAML"), std::string::npos) << nul;
  EXPECT_NE(Error("stages:\n  a:\n    cmd: \"x\xef\xbf\xbe\"\n").find("character U+FFFE"), std::string::npos);
  EXPECT_NE(Error("stages:\n  a:\n    cmd: x\x1b[0m\n").find("character U+001B"), std::string::npos);
  EXPECT_FALSE(ParseLock(std::string("format: 1\nstages:\n  a:\n    cmd: x\n    params:\n      k") + '\0' +
                         "k: v\n")
                   .ok());
  // Escaped, they are fine: "\t" and "\0" are YAML escapes, not raw bytes.
  auto escaped = Load("stages:\n  a:\n    cmd: \"printf 'a\\tb'\"\n");
  ASSERT_TRUE(escaped.ok()) << escaped.status().ToString();
  EXPECT_EQ(escaped->stages[0].cmd, "printf 'a\tb'");
  auto spec = Load("stages:\n  a:\n    cmd: x ${k}\n    params: [k]\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  WriteText(dir_.path() / "params.yaml", "k: caf\xe9\n");
  auto params = ReadParams(*repo_, *spec, {"k"});
  EXPECT_EQ(params.status().code(), Code::kInvalidArgument);
  EXPECT_NE(params.status().message().find("params.yaml:1: byte 0xE9"), std::string::npos)
      << params.status().message();
  // UTF-8, including 4-byte sequences, goes through the lock unchanged.
  PipelineLock ok;
  ok["a"].cmd = "echo caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x8e\x89";
  ok["a"].params["k"] = "na\xc3\xafve";
  auto back = ParseLock(EncodeLock(ok));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->at("a").cmd, ok["a"].cmd);
  EXPECT_EQ(back->at("a").params, ok["a"].params);
}

// Found by fuzz/lock_fuzz (a 10-minute run): a 'run' ending in carriage
// returns was written back as a plain scalar, and the CR before the final
// newline read as part of the line break, so the lock changed on every save.
// 'run' names the run repro recorded: anything but a run id is Corruption.
TEST_F(PipelineTest, LockRunMustBeARunId) {
  const std::string stage = "format: 1\nstages:\n  a:\n    cmd: x\n    run: ";
  EXPECT_TRUE(ParseLock(stage + std::string(32, 'a') + "\n").ok());
  for (const std::string& run : {std::string(29, 'a') + "\r \r`\r", std::string("../../x"), std::string(32, 'A'),
                                 std::string("\"\"")}) {
    auto lock = ParseLock(stage + run + "\n");
    EXPECT_EQ(lock.status().code(), Code::kCorruption) << run;
    EXPECT_NE(lock.status().message().find("cairn.lock:5:"), std::string::npos) << lock.status().message();
  }
}

TEST_F(PipelineTest, StageAddValidatesBeforeWriting) {
  StageSpec s;
  s.name = "prep";
  s.cmd = "python3 prep.py";
  s.deps = {"raw"};
  s.outs = {"prepared"};
  ASSERT_TRUE(AddStage(*repo_, s, false).ok());
  EXPECT_EQ(AddStage(*repo_, s, false).code(), Code::kAlreadyExists);
  StageSpec loop;
  loop.name = "back";
  loop.cmd = "x";
  loop.deps = {"prepared"};
  loop.outs = {"raw"};
  std::string before = ReadText(dir_.path() / "cairn.yaml");
  EXPECT_EQ(AddStage(*repo_, loop, false).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadText(dir_.path() / "cairn.yaml"), before) << "a bad stage is not written";
  auto spec = LoadPipeline(*repo_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->stages.size(), 1u);
  EXPECT_EQ(spec->stages[0].outs, std::vector<std::string>{"prepared"});
}

}  // namespace
}  // namespace cairn
