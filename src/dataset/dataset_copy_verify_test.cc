// fsck reads every file of every use_dataset copy: edits (even ones that
// keep size and mtime, which use_dataset's stat check cannot see),
// truncation, removal and additions are reported naming the copy and the
// file; only repair removes a damaged copy, and use_dataset makes it again.
#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "cairn/dataset.h"
#include "cairn/maintenance.h"
#include "cairn/use_dataset.h"
#include "dataset/dataset_copies.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

// Overwrites `p` (0444 in a copy) keeping its size and mtime, as a careless
// tool running as root might.
void OverwriteKeepingStat(const fs::path& p, const std::string& content) {
  struct stat st;
  ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
  ASSERT_EQ(static_cast<size_t>(st.st_size), content.size());
  fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
  WriteText(p, content);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

class DatasetCopyVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::InitTestRepo(dir_.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(r).value();
  }

  // Adds `rel` (a directory of `files`, or one file: a single entry named "") and returns its version.
  Oid AddAt(const std::string& rel, const std::vector<std::pair<std::string, std::string>>& files) {
    for (const auto& [name, content] : files) WriteText(name.empty() ? repo_->root() / rel : repo_->root() / rel / name, content);
    auto added = Add(*repo_, {(repo_->root() / rel).string()}, AddOptions{});
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? (*added)[0].version : Oid();
  }

  // A copy of an older version of data/d (the workspace holds a newer one).
  fs::path MakeCopy() {
    v1_ = AddAt("data/d", {{"a.csv", "alpha\n"}, {"sub/b.csv", "bravo bravo\n"}});
    AddAt("data/d", {{"a.csv", "ALPHA\n"}, {"sub/b.csv", "BRAVO BRAVO\n"}});
    auto path = MaterializeDatasetVersion(*repo_, v1_);
    EXPECT_TRUE(path.ok()) << path.status().ToString();
    return path.ok() ? *path : fs::path();
  }

  FsckReport Check() {
    auto report = Fsck(*repo_, false);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : FsckReport{};
  }

  // The "copy" problems of `report`, as "name: message".
  static std::vector<std::string> CopyProblems(const FsckReport& report) {
    std::vector<std::string> out;
    for (const FsckProblem& p : report.problems) {
      if (p.what == "copy") out.push_back(p.name + ": " + p.message);
    }
    return out;
  }

  std::string CopyName(const std::string& file) const { return ".cairn/datasets/" + v1_.Hex() + "/" + file; }

  TempDir dir_;
  std::unique_ptr<Repo> repo_;
  Oid v1_;
};

TEST_F(DatasetCopyVerifyTest, AnIntactCopyIsCheckedAndClean) {
  MakeCopy();
  FsckReport report = Check();
  EXPECT_EQ(report.copies_checked, 1u);
  EXPECT_TRUE(report.problems.empty()) << report.problems[0].name << ": " << report.problems[0].message;
  EXPECT_TRUE(report.damaged_copies.empty());
}

TEST_F(DatasetCopyVerifyTest, AnEditThatKeepsSizeAndMtimeIsFoundByContent) {
  fs::path copy = MakeCopy();
  OverwriteKeepingStat(copy / "sub/b.csv", "bravo BRAVO\n");
  ASSERT_EQ(CheckDatasetCopy(*repo_, v1_), CopyState::kComplete) << "the stat check should not see this edit";
  FsckReport report = Check();
  auto problems = CopyProblems(report);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(report.problems[0].name, CopyName("sub/b.csv"));
  EXPECT_NE(problems[0].find("use_dataset copy of data/d@" + v1_.Short()), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("has other content than the version's file"), std::string::npos) << problems[0];
  ASSERT_EQ(report.damaged_copies.size(), 1u);
  EXPECT_EQ(report.damaged_copies[0], v1_);
  // Checking changes nothing.
  EXPECT_EQ(ReadText(copy / "sub/b.csv"), "bravo BRAVO\n");
}

TEST_F(DatasetCopyVerifyTest, TruncatedRemovedAndAddedFilesAreEachNamed) {
  fs::path copy = MakeCopy();
  fs::permissions(copy / "a.csv", fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(copy / "a.csv", 2);
  fs::permissions(copy / "sub", fs::perms::owner_all, fs::perm_options::add);
  fs::remove(copy / "sub/b.csv");
  fs::permissions(copy, fs::perms::owner_all, fs::perm_options::add);
  WriteText(copy / "new.txt", "x");
  FsckReport report = Check();
  auto problems = CopyProblems(report);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(report.problems[0].name, CopyName("a.csv"));
  EXPECT_NE(problems[0].find("is 2 bytes, the version's file 6"), std::string::npos) << problems[0];
  EXPECT_EQ(report.problems[1].name, CopyName("new.txt"));
  EXPECT_NE(problems[1].find("was added"), std::string::npos) << problems[1];
  EXPECT_EQ(report.problems[2].name, CopyName("sub/b.csv"));
  EXPECT_NE(problems[2].find("was removed"), std::string::npos) << problems[2];
  EXPECT_EQ(report.damaged_copies.size(), 1u) << "one copy, however many files";
}

TEST_F(DatasetCopyVerifyTest, RepairRemovesTheDamagedCopyAndUseMakesItAgain) {
  fs::path copy = MakeCopy();
  OverwriteKeepingStat(copy / "a.csv", "ALPHA\n");
  FsckReport report = Check();
  ASSERT_EQ(report.damaged_copies.size(), 1u);
  auto removed = RemoveDamagedCopies(*repo_, report);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0], copy);
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1_), CopyState::kMissing);
  auto again = MaterializeDatasetVersion(*repo_, v1_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadText(*again / "a.csv"), "alpha\n");
  report = Check();
  EXPECT_TRUE(CopyProblems(report).empty());
  EXPECT_EQ(report.copies_checked, 1u);
}

TEST_F(DatasetCopyVerifyTest, RepairKeepsACopyThatIsIntactByNow) {
  fs::path copy = MakeCopy();
  OverwriteKeepingStat(copy / "a.csv", "ALPHA\n");
  FsckReport report = Check();
  OverwriteKeepingStat(copy / "a.csv", "alpha\n");  // made right again meanwhile
  auto removed = RemoveDamagedCopies(*repo_, report);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(removed->empty());
  EXPECT_EQ(ReadText(copy / "a.csv"), "alpha\n");
}

TEST_F(DatasetCopyVerifyTest, ACopyWithoutManifestIsIncompleteUnlessBeingMade) {
  fs::path copy = MakeCopy();
  // What a build killed between its rename and its manifest leaves: never
  // handed out, and nobody will finish it.
  fs::remove(repo_->layout().dataset_copies() / (v1_.Hex() + ".manifest"));
  {
    // While a live process owns a temporary directory it may be building it.
    auto tmp = MakeDatasetTempDir(*repo_);
    ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();
    FsckReport report = Check();
    EXPECT_EQ(report.copies_checked, 0u);
    EXPECT_TRUE(report.problems.empty());
    fs::remove(*tmp);
  }
  FsckReport report = Check();
  EXPECT_EQ(report.copies_checked, 1u);
  auto problems = CopyProblems(report);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("is incomplete"), std::string::npos) << problems[0];
  auto removed = RemoveDamagedCopies(*repo_, report);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(copy)));
}

// fsck reports `damage` to the copy's entry, counts it, and repair removes
// the entry (never what a symlink there points to).
void ExpectReportedAndRemoved(Repo& repo, const Oid& version, const std::string& what) {
  auto report = Fsck(repo, false);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->copies_checked, 1u);
  ASSERT_FALSE(report->problems.empty());
  EXPECT_EQ(report->problems[0].what, "copy");
  EXPECT_NE(report->problems[0].message.find(what), std::string::npos) << report->problems[0].message;
  ASSERT_EQ(report->damaged_copies.size(), 1u);
  auto removed = RemoveDamagedCopies(repo, *report);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(repo.layout().dataset_copy(version.Hex()))));
}

TEST_F(DatasetCopyVerifyTest, AFileInTheCopysPlaceIsDamage) {
  fs::path copy = MakeCopy();
  RemoveReadOnlyTree(copy);
  WriteText(copy, "not a copy");
  ExpectReportedAndRemoved(*repo_, v1_, "is not a directory");
}

TEST_F(DatasetCopyVerifyTest, ASymlinkInTheCopysPlaceIsDamageAndOnlyTheLinkGoes) {
  fs::path copy = MakeCopy();
  TempDir outside;
  const fs::path elsewhere = outside.path() / "copy";
  // An intact copy, but not where use_dataset made it.
  WriteText(elsewhere / "a.csv", "alpha\n");
  WriteText(elsewhere / "sub/b.csv", "bravo bravo\n");
  RemoveReadOnlyTree(copy);
  fs::create_directory_symlink(elsewhere, copy);
  ExpectReportedAndRemoved(*repo_, v1_, "is a symlink");
  EXPECT_EQ(ReadText(elsewhere / "a.csv"), "alpha\n");
  // A symlink to a file too.
  ASSERT_TRUE(MaterializeDatasetVersion(*repo_, v1_).ok());
  RemoveReadOnlyTree(copy);
  fs::create_symlink(elsewhere / "a.csv", copy);
  ExpectReportedAndRemoved(*repo_, v1_, "is a symlink");
  EXPECT_EQ(ReadText(elsewhere / "a.csv"), "alpha\n");
}

TEST_F(DatasetCopyVerifyTest, ADamagedManifestIsDamageAndUseMakesTheCopyAgainWithANote) {
  const fs::path manifest = [&] {
    MakeCopy();
    return repo_->layout().dataset_copies() / (v1_.Hex() + ".manifest");
  }();
  const std::string good = ReadText(manifest);
  const std::string header = good.substr(0, good.find('\n') + 1);
  const std::string line = good.substr(header.size(), good.find('\n', header.size()) + 1 - header.size());
  const std::string stamp = line.substr(0, line.rfind(' ') + 1);
  for (const std::string& bad : {std::string(), std::string("garbage\n"), header + stamp + "../../../etc/passwd\n",
                                 header + stamp + "/etc/passwd\n"}) {
    SCOPED_TRACE(bad);
    WriteText(manifest, bad);
    ExpectReportedAndRemoved(*repo_, v1_, "has a damaged manifest");
    ASSERT_TRUE(MaterializeDatasetVersion(*repo_, v1_).ok());
  }
  // use_dataset making it again says so (Python turns this into a RuntimeWarning).
  WriteText(manifest, "garbage\n");
  std::vector<std::string> notes;
  auto again = MaterializeDatasetVersion(*repo_, v1_, [&](const std::string& m) { notes.push_back(m); });
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("was changed after it was made"), std::string::npos) << notes[0];
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1_), CopyState::kComplete);
}

TEST_F(DatasetCopyVerifyTest, ASingleFileVersionIsCheckedUnderItsName) {
  Oid v1 = AddAt("data/one.csv", {{"", "first\n"}});
  AddAt("data/one.csv", {{"", "second\n"}});
  auto path = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_TRUE(Check().problems.empty());
  OverwriteKeepingStat(*path, "FIRST\n");
  FsckReport report = Check();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].name, ".cairn/datasets/" + v1.Hex() + "/" + path->filename().string());
}

// Flips one byte of the loose object `oid`.
void FlipObjectByte(Repo& repo, const Oid& oid) {
  auto loose = repo.store().LooseFile(oid);
  ASSERT_TRUE(loose.ok()) << loose.status().ToString();
  fs::permissions(*loose, fs::perms::owner_write, fs::perm_options::add);
  std::string data = ReadText(*loose);
  ASSERT_FALSE(data.empty());
  data[data.size() / 2] ^= 0x20;
  WriteText(*loose, data);
}

TEST_F(DatasetCopyVerifyTest, RepairKeepsACopyThatCannotBeChecked) {
  fs::path copy = MakeCopy();
  auto v = LoadVersion(*repo_, v1_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  FlipObjectByte(*repo_, v->object);  // the version's file list cannot be read
  FsckReport report = Check();
  auto problems = CopyProblems(report);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("cannot be checked"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("repair keeps the copy"), std::string::npos) << problems[0];
  EXPECT_EQ(problems[0].find("makes it again"), std::string::npos) << problems[0];
  EXPECT_TRUE(report.damaged_copies.empty());
  // Even when named: the re-check under the lock keeps it.
  report.damaged_copies.push_back(v1_);
  auto removed = RemoveDamagedCopies(*repo_, report);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(removed->empty());
  EXPECT_EQ(ReadText(copy / "a.csv"), "alpha\n");
  EXPECT_EQ(ReadText(copy / "sub/b.csv"), "bravo bravo\n");
}

}  // namespace
}  // namespace cairn
