#include "dataset/dataset_copies.h"

#include <sys/stat.h>

#include "util/file.h"

namespace cairn {

Result<std::vector<DatasetCopy>> StaleDatasetCopies(Repo& repo, const OidSet& root_versions, int64_t now,
                                                    int64_t grace_seconds) {
  std::vector<DatasetCopy> out;
  const fs::path dir = repo.layout().dataset_copies();
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    auto oid = Oid::Parse("sha256:" + name);
    // Anything else there is not a copy cairn made: leave it.
    if (!oid.ok() || !entry.is_directory(ec)) continue;
    if (root_versions.count(*oid)) continue;
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0) return Status::FromErrno("cannot stat " + entry.path().string(), errno);
    // A copy made moments ago may be in use by the process that made it.
    if (st.st_mtime > now - grace_seconds) continue;
    DatasetCopy copy{*oid, entry.path(), 0};
    for (auto f = fs::recursive_directory_iterator(entry.path(), ec); !ec && f != fs::recursive_directory_iterator();
         f.increment(ec)) {
      if (f->is_regular_file(ec)) copy.bytes += f->file_size(ec);
    }
    out.push_back(std::move(copy));
  }
  return out;
}

Status RemoveDatasetCopy(const DatasetCopy& copy) {
  // The copy's files and directories are read-only (0444/0555): make them
  // writable first so remove_all can unlink their entries.
  std::error_code ec;
  for (auto f = fs::recursive_directory_iterator(copy.path, ec); !ec && f != fs::recursive_directory_iterator();
       f.increment(ec)) {
    if (f->is_directory(ec)) fs::permissions(f->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::permissions(copy.path, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(copy.path, ec);
  if (ec) return Status::FromErrno("cannot remove " + copy.path.string(), ec.value());
  return Status::OK();
}

}  // namespace cairn
