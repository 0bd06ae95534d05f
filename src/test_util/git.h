// Test helpers that run the real git in a directory (tests that check what
// cairn reads from git against git itself).
#ifndef CAIRN_TEST_UTIL_GIT_H_
#define CAIRN_TEST_UTIL_GIT_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace cairn::testing {

// Runs `git -C dir ARGS` (split by the shell) with its output discarded;
// returns the shell's status: 0 when git succeeded.
inline int RunGit(const std::filesystem::path& dir, const std::string& args) {
  std::string cmd = "git -C '" + dir.string() + "' " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

// The standard output of `git -C dir ARGS`, without its trailing newlines.
inline std::string GitOutput(const std::filesystem::path& dir, const std::string& args) {
  std::string cmd = "git -C '" + dir.string() + "' " + args;
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace cairn::testing

#endif  // CAIRN_TEST_UTIL_GIT_H_
