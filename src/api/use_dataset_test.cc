// use_dataset and artifact download through the library: the workspace copy,
// the read-only copy, fetching a version the cache lacks from the default
// remote, and recording the input only once the data could be read.
#include "cairn/use_dataset.h"

#include <gtest/gtest.h>

#include "api/use_dataset_test_fixture.h"
#include "cairn/artifacts.h"
#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "cairn/remote.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::WriteText;

class UseDatasetTest : public testing::UseDatasetFixture {
 protected:
  // data/raw.csv added as dataset "raw" and tagged v1; returns the version.
  Oid AddRaw(Repo& repo, const std::string& content) {
    WriteText(repo.root() / "data/raw.csv", content);
    AddOptions o;
    o.name = "raw";
    auto added = Add(repo, {(repo.root() / "data/raw.csv").string()}, o);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    Oid v = (*added)[0].version;
    EXPECT_TRUE(CreateTag(repo, Tag{"raw", "v1", v, false, "me", 1, ""}).ok());
    return v;
  }

  // A directory remote beside the repository.
  RemoteSpec Remote() {
    fs::create_directories(dir_.path() / "remote");
    RemoteSpec spec;
    spec.name = "origin";
    spec.url = (dir_.path() / "remote").string();
    return spec;
  }
};

TEST_F(UseDatasetTest, WorkspaceCopyWhenCleanElseReadOnlyCopy) {
  Oid v = AddRaw(*repo_, "a,b\n1,2\n");
  auto located = LocateDataset(*repo_, "raw@v1");
  ASSERT_TRUE(located.ok()) << located.status().ToString();
  EXPECT_TRUE(located->workspace);
  EXPECT_EQ(located->path, repo_->root() / "data/raw.csv");
  EXPECT_EQ(located->input.version, v);

  WriteText(repo_->root() / "data/raw.csv", "changed\n");
  located = LocateDataset(*repo_, "raw@v1");
  ASSERT_TRUE(located.ok()) << located.status().ToString();
  EXPECT_FALSE(located->workspace);
  EXPECT_EQ(located->path, repo_->cairn_dir() / "datasets" / v.Hex() / "raw.csv");
  EXPECT_EQ(ReadText(located->path), "a,b\n1,2\n");
  auto perms = fs::status(located->path).permissions();
  EXPECT_EQ(perms & fs::perms::owner_write, fs::perms::none) << "the copy is read-only";
  // Made once: a second call returns the same path.
  auto again = MaterializeDatasetVersion(*repo_, v);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, located->path);
}

TEST_F(UseDatasetTest, FetchesAVersionTheCacheLacksFromTheDefaultRemote) {
  Oid v = AddRaw(*repo_, "x,y\n3,4\n");
  ASSERT_TRUE(AddRemote(*repo_, Remote(), /*make_default=*/true, /*force=*/false).ok());
  TransferOptions push;
  push.targets = {"raw@v1"};
  auto pushed = Push(*repo_, Remote(), push);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();

  std::unique_ptr<Repo> b = InitRepo(dir_.path() / "b");
  ASSERT_TRUE(AddRemote(*b, Remote(), true, false).ok());
  auto t = Tracker::Open(*b);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string run = StartRun(**t);

  // Without fetching: NotFound, and no input recorded.
  UseDatasetOptions no_fetch;
  no_fetch.fetch = false;
  auto refused = UseDataset(**t, run, "raw@v1", no_fetch);
  EXPECT_EQ(refused.status().code(), Code::kNotFound) << refused.status().ToString();
  EXPECT_TRUE((*t)->GetRun(run)->inputs.empty());

  auto used = UseDataset(**t, run, "raw@v1");
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  EXPECT_TRUE(used->fetched);
  EXPECT_FALSE(used->workspace);
  EXPECT_EQ(used->input.version, v);
  EXPECT_EQ(used->input.source, "explicit");
  EXPECT_EQ(ReadText(used->path), "x,y\n3,4\n");
  auto info = (*t)->GetRun(run);
  ASSERT_EQ(info->inputs.size(), 1u);
  EXPECT_EQ(info->inputs[0].version, v);
  EXPECT_EQ(info->inputs[0].tag, "v1");
}

TEST_F(UseDatasetTest, WithoutARemoteSaysWhatIsMissing) {
  std::unique_ptr<Repo> b = InitRepo(dir_.path() / "b");
  auto located = LocateDataset(*b, "raw@v1");
  EXPECT_EQ(located.status().code(), Code::kNotFound);
  EXPECT_NE(located.status().hint().find("no remote"), std::string::npos) << located.status().ToString();
  EXPECT_EQ(located.status().hint().find("--"), std::string::npos) << "library hints name no CLI flags";
}

TEST_F(UseDatasetTest, EndedRunTakesNoInput) {
  AddRaw(*repo_, "1\n");
  auto t = Tracker::Open(*repo_);
  ASSERT_TRUE(t.ok());
  std::string run = StartRun(**t);
  ASSERT_TRUE((*t)->EndRun(run, RunStatus::kFinished).ok());
  auto used = UseDataset(**t, run, "raw@v1");
  EXPECT_EQ(used.status().code(), Code::kFailedPrecondition);
}

TEST_F(UseDatasetTest, DownloadArtifactsChecksEveryDestinationFirst) {
  auto t = Tracker::Open(*repo_);
  ASSERT_TRUE(t.ok());
  std::string run = StartRun(**t);
  ASSERT_TRUE((*t)->LogArtifactBytes(run, "plots/a.png", "A").ok());
  ASSERT_TRUE((*t)->LogArtifactBytes(run, "plots/sub/b.png", "BB").ok());
  ASSERT_TRUE((*t)->LogArtifactBytes(run, "model.bin", "M").ok());
  auto listed = ListArtifacts(**t, run, "plots/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(ListArtifacts(**t, run)->size(), 3u);

  auto sel = SelectArtifacts(**t, run, "plots/");
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_TRUE(sel->directory);
  EXPECT_EQ(sel->path, "plots");
  EXPECT_EQ(SelectArtifacts(**t, run, "plo").status().code(), Code::kNotFound);
  EXPECT_EQ(SelectArtifacts(**t, run, "plo").status().hint(), "") << "the front end adds its advice";

  fs::path out = dir_.path() / "out";
  WriteText(out / "sub/b.png", "mine");
  auto refused = DownloadArtifacts(*repo_, *sel, out);
  EXPECT_EQ(refused.status().code(), Code::kAlreadyExists);
  EXPECT_FALSE(fs::exists(out / "a.png")) << "nothing written when one destination is refused";
  EXPECT_EQ(ReadText(out / "sub/b.png"), "mine");
  std::vector<std::string> seen;
  DownloadOptions o;
  o.overwrite = true;
  o.on_written = [&](const RunArtifact& a, const fs::path&) { seen.push_back(a.path); };
  auto written = DownloadArtifacts(*repo_, *sel, out, o);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"plots/a.png", "plots/sub/b.png"}));
  EXPECT_EQ(ReadText(out / "sub/b.png"), "BB");
  EXPECT_EQ(DownloadArtifacts(*repo_, *sel, "relative").status().code(), Code::kInvalidArgument);

  auto file = SelectArtifacts(**t, run, "model.bin");
  ASSERT_TRUE(file.ok());
  fs::create_directories(dir_.path() / "adir");
  EXPECT_EQ(DownloadArtifacts(*repo_, *file, dir_.path() / "adir", o).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(*ReadArtifact(*repo_, file->artifacts[0]), "M");
}

}  // namespace
}  // namespace cairn
