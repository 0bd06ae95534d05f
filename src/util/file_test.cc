// WriteRoot (the one gate for writes named by data from elsewhere) and file
// permissions of atomic writes.
#include "util/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

TEST(WriteRootTest, ResolvesSafeNamesBelowTheRoot) {
  TempDir dir;
  WriteRoot root(dir.path());
  auto p = root.ResolveAndMakeParents("a/b/c.txt");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, dir.path() / "a/b/c.txt");
  EXPECT_TRUE(fs::is_directory(dir.path() / "a/b"));
}

TEST(WriteRootTest, RefusesNamesThatLeaveTheRoot) {
  TempDir dir;
  WriteRoot root(dir.path() / "inner");
  for (const char* bad : {"../x", "/etc/x", "a/../../x", "", "a//b", "./a"}) {
    auto p = root.Resolve(bad);
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(fs::exists(dir.path() / "x"));
}

TEST(WriteRootTest, NeverWritesThroughASymlinkedDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "root/sub");
  fs::create_directories(dir.path() / "elsewhere");
  fs::create_directory_symlink(dir.path() / "elsewhere", dir.path() / "root/link");
  // Even a symlink that stays inside the root is refused: writes never follow one.
  fs::create_directory_symlink(dir.path() / "root/sub", dir.path() / "root/inside");
  WriteRoot root(dir.path() / "root");
  EXPECT_EQ(root.Resolve("link/f").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(root.ResolveAndMakeParents("link/deeper/f").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(root.Resolve("inside/f").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(root.Resolve("sub/f").ok());
  EXPECT_TRUE(root.Resolve("link").ok()) << "the target itself is replaced, never followed";
  EXPECT_TRUE(fs::is_empty(dir.path() / "elsewhere"));
}

TEST(WriteRootTest, AFileWhereADirectoryIsNeededIsAnError) {
  TempDir dir;
  WriteText(dir.path() / "f", "x");
  WriteRoot root(dir.path());
  EXPECT_EQ(root.Resolve("f/g").status().code(), Code::kFailedPrecondition);
}

TEST(WriteFileAtomicTest, SecretsArePrivateFromTheFirstByte) {
  TempDir dir;
  fs::path p = dir.path() / "config.local";
  ASSERT_TRUE(WriteFileAtomic(p, "secret = 1\n", false, 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The temp file gets the same mode when it is created (checked by creating one).
  auto tmp = TempFile::Create(dir.path(), "config.local", 0600);
  ASSERT_TRUE(tmp.ok());
  ASSERT_EQ(::fstat(tmp->fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "plain", "x", false).ok());
  ASSERT_EQ(::stat((dir.path() / "plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0600, 0600u);
}

}  // namespace
}  // namespace cairn
