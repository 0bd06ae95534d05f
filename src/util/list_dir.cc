#include "util/list_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace cairn {

namespace fs = std::filesystem;

Result<std::vector<std::string>> ListDirNames(const fs::path& dir, bool include_hidden) {
  std::vector<std::string> names;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return names;
    return Status::FromErrno("cannot list " + dir.string(), errno);
  }
  // A symlink to nothing, a file or an unreadable directory: its entries
  // are unknown, so a caller must not act as if there were none.
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (include_hidden || !name.starts_with(".")) names.push_back(std::move(name));
  }
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cairn
