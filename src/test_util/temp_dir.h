// Shared test fixtures: a temporary directory removed at the end of a test.
#ifndef CAIRN_TEST_UTIL_TEMP_DIR_H_
#define CAIRN_TEST_UTIL_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "cairn/repo.h"

namespace cairn::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void WriteText(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `n` pseudo-random bytes, the same for the same seed.
inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A fresh repository without git in `dir` (cairn init --no-git).
inline Result<std::unique_ptr<Repo>> InitTestRepo(const std::filesystem::path& dir) {
  bool created = false;
  return Repo::Init(dir, /*no_git=*/true, &created);
}

}  // namespace cairn::testing

#endif  // CAIRN_TEST_UTIL_TEMP_DIR_H_
