// The repository lock's wait message names the holder only when its pid is known.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>

#include "cairn/repo.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

// Holds the lock through another open file description, as another process
// would; the lock file holds `content` (a pid, or nothing yet).
void ExpectWaitMessage(const std::string& content, const std::string& holder, const std::string& busy) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const std::string path = (*repo)->layout().writer_lock().string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::pwrite(fd, content.data(), content.size(), 0), static_cast<ssize_t>(content.size()));
  std::string told = "(not called)";
  (*repo)->set_lock_wait_callback([&](const std::string& h) { told = h; });
  ::setenv("CAIRN_LOCK_TIMEOUT", "0.2", 1);
  auto lock = (*repo)->Lock();
  ::unsetenv("CAIRN_LOCK_TIMEOUT");
  ::close(fd);
  ASSERT_EQ(lock.status().code(), Code::kBusy);
  EXPECT_EQ(lock.status().message(), busy);
  EXPECT_EQ(told, holder);
}

constexpr size_t kLockPad = 23;  // a record: the pid padded to 23 bytes, a newline

// A pid no process has (pid_max is at most 2^22).
constexpr const char kDeadPid[] = "99999999";

TEST(RepoLockTest, WaitNamesThePidOnlyWhenTheLockFileHoldsALiveOne) {
  const std::string me = std::to_string(::getpid());  // alive: this test
  ExpectWaitMessage(me + "\n", me, "the repository is locked by another cairn command (pid " + me + ")");
  ExpectWaitMessage("", "", "the repository is locked by another cairn command");
  ExpectWaitMessage("garbage", "", "the repository is locked by another cairn command");
  // An earlier holder, gone (the new one has not written its pid yet).
  ExpectWaitMessage(std::string(kDeadPid) + "\n", "", "the repository is locked by another cairn command");
}

// A lock file that is a symlink (a hostile clone's) is refused, and what it
// names is left as it was; so is one that is a directory.
TEST(RepoLockTest, ALockFileThatIsNotARegularFileIsRefused) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const std::filesystem::path path = (*repo)->layout().writer_lock();
  const std::filesystem::path victim = dir.path() / "victim.txt";
  testing::WriteText(victim, "precious\n");
  std::filesystem::remove(path);
  std::filesystem::create_symlink(victim, path);
  auto lock = (*repo)->Lock();
  ASSERT_EQ(lock.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(lock.status().message().find("symbolic link"), std::string::npos) << lock.status().ToString();
  EXPECT_NE(lock.status().hint().find("rm " + path.string()), std::string::npos) << lock.status().ToString();
  EXPECT_EQ(testing::ReadText(victim), "precious\n");
  std::filesystem::remove(path);
  std::filesystem::create_directory(path);
  auto again = (*repo)->Lock();
  ASSERT_EQ(again.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("is a directory"), std::string::npos) << again.status().ToString();
  EXPECT_FALSE(again.status().hint().empty());
}

// The holder's pid covers whatever the file held (a longer content is cut
// once), and is read back as the pid alone.
TEST(RepoLockTest, TheHolderWritesItsPidOverAnyEarlierContent) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const std::string path = (*repo)->layout().writer_lock().string();
  {
    auto lock = (*repo)->Lock();  // creates the file
    ASSERT_TRUE(lock.ok());
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string old = "9999999999999999999\n";  // the longest pid an earlier writer could leave
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::pwrite(fd, old.data(), old.size(), 0), static_cast<ssize_t>(old.size()));
  ::close(fd);
  {
    auto lock = (*repo)->Lock();
    ASSERT_TRUE(lock.ok());
    std::string content = testing::ReadText(path);
    std::string pid = std::to_string(::getpid());
    ASSERT_EQ(content.size(), 24u) << content;
    EXPECT_EQ(content.substr(0, pid.size()), pid) << content;
    EXPECT_EQ(content.find_first_not_of(' ', pid.size()), 23u) << "nothing of the earlier pid is left: " << content;
    EXPECT_EQ(content.back(), '\n');
  }
  // A waiter names this holder by its pid alone.
  const std::string me = std::to_string(::getpid());
  ExpectWaitMessage(me + std::string(kLockPad - me.size(), ' ') + "\n", me,
                    "the repository is locked by another cairn command (pid " + me + ")");
}

}  // namespace
}  // namespace cairn
