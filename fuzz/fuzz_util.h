// Shared helpers for the libFuzzer targets in fuzz/ (see README.md).
//
// A decoder may reject any input; what a target checks is that it never
// crashes, never trips ASan/UBSan, never throws, and that whatever it accepts
// satisfies the invariants the rest of cairn relies on. A broken invariant is
// reported with FUZZ_CHECK, which aborts so libFuzzer saves the input.
#ifndef CAIRN_FUZZ_FUZZ_UTIL_H_
#define CAIRN_FUZZ_FUZZ_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n%s\n", file, line, cond, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                                           \
  do {                                                                     \
    if (!(cond)) ::cairn::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// The message of a Status, or "ok", for invariant failures.
inline std::string Describe(const Status& s) { return s.ok() ? "ok" : s.ToString(); }

// One repository (no git) in a fresh temporary directory, made on first use
// and removed when the process exits, for decoders that read their input
// from a file inside a repository.
class ScratchRepo {
 public:
  static ScratchRepo& Get() {
    static ScratchRepo* instance = new ScratchRepo();
    return *instance;
  }

  Repo& repo() { return *repo_; }
  const std::filesystem::path& root() const { return root_; }

  // Replaces the file at `rel` (relative to the root) with `data`, without
  // fsync: the fuzzer rewrites it thousands of times a second.
  void Write(const std::string& rel, std::string_view data) {
    std::ofstream out(root_ / rel, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) Fail(__FILE__, __LINE__, "write", "cannot write " + (root_ / rel).string());
  }

 private:
  ScratchRepo() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) Fail(__FILE__, __LINE__, "mkdtemp", tmpl);
    root_ = tmpl;
    static std::filesystem::path* to_remove = new std::filesystem::path(root_);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*to_remove, ec);
    });
    bool created = false;
    auto repo = Repo::Init(root_, /*no_git=*/true, &created);
    if (!repo.ok()) Fail(__FILE__, __LINE__, "Repo::Init", repo.status().ToString());
    repo_ = std::move(*repo);
  }

  std::filesystem::path root_;
  std::unique_ptr<Repo> repo_;
};

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_FUZZ_UTIL_H_
