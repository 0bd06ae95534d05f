#include "dataset/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <mutex>

#include "repo/state_db.h"
#include "util/file.h"
#include "util/progress.h"
#include "util/sha256.h"

namespace cairn {
namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void FillStat(WorkFile* f, const struct stat& st) {
  f->size = static_cast<uint64_t>(st.st_size);
  f->mtime_ns = MtimeNs(st);
  f->inode = static_cast<uint64_t>(st.st_ino);
  f->executable = (st.st_mode & S_IXUSR) != 0;
}

bool IsInside(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

// Lists a directory tree without stat(): readdir's d_type tells most types.
// Files are grouped by directory (`dir_of`) so their stats can be taken later
// in parallel, relative to an open directory (no per-file path walk).
Status Walk(const std::string& dir, const std::string& rel, std::vector<WorkFile>* out,
            std::vector<std::string>* dirs, std::vector<uint32_t>* dir_of, std::vector<std::string>* symlinks) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("cannot list " + dir, errno);
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    entries.emplace_back(e->d_name, e->d_type);
  }
  ::closedir(d);
  uint32_t dir_index = static_cast<uint32_t>(dirs->size());
  dirs->push_back(dir);
  // Files first, then subdirectories, so each directory's files are contiguous.
  std::vector<std::pair<std::string, std::string>> subdirs;
  for (auto& [name, type] : entries) {
    std::string child_rel = rel.empty() ? name : rel + "/" + name;
    std::string child = dir + "/" + name;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat(child.c_str(), &st) != 0) return Status::FromErrno("cannot stat " + child, errno);
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
    }
    if (type == DT_DIR) {
      subdirs.emplace_back(std::move(child), std::move(child_rel));
    } else if (type == DT_REG || type == DT_LNK) {
      if (type == DT_LNK) symlinks->push_back(child_rel);
      out->push_back(WorkFile{std::move(child_rel)});
      dir_of->push_back(dir_index);
    } else {
      return Status::InvalidArgument(child + " is not a regular file (socket, device or FIFO)",
                                     "move it out of the tracked directory");
    }
  }
  for (const auto& [child, child_rel] : subdirs) {
    CAIRN_RETURN_IF_ERROR(Walk(child, child_rel, out, dirs, dir_of, symlinks));
  }
  return Status::OK();
}

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string WorkFilePath(const std::string& path, const WorkFile& f) {
  return f.rel.empty() ? path : path + "/" + f.rel;
}

Result<std::vector<WorkFile>> ListWorkFiles(Repo& repo, const std::string& path, PathKind* kind) {
  std::vector<WorkFile> files;
  fs::path abs = repo.Abs(path);
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      *kind = PathKind::kMissing;
      return files;
    }
    return Status::FromErrno("cannot stat " + abs.string(), errno);
  }
  std::vector<std::string> symlinks, dirs;
  std::vector<uint32_t> dir_of;
  if (S_ISDIR(st.st_mode)) {
    *kind = PathKind::kDirectory;
    CAIRN_RETURN_IF_ERROR(Walk(abs.string(), "", &files, &dirs, &dir_of, &symlinks));
  } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
    *kind = PathKind::kFile;
    files.push_back(WorkFile{""});
    if (S_ISLNK(st.st_mode)) symlinks.push_back("");
  } else {
    return Status::InvalidArgument(abs.string() + " is not a regular file or directory");
  }
  for (const std::string& rel : symlinks) {
    fs::path link = rel.empty() ? abs : abs / rel;
    std::error_code ec;
    fs::path target = fs::canonical(link, ec);
    if (ec || !IsInside(target, repo.root()) || !fs::is_regular_file(target, ec)) {
      return Status::InvalidArgument(
          link.string() + " is a symlink that does not lead to a regular file inside the repository",
          "replace it with the file it points to, or remove it");
    }
  }
  if (*kind == PathKind::kFile) {
    struct stat fst;
    if (::stat(abs.c_str(), &fst) != 0) return Status::FromErrno("cannot stat " + abs.string(), errno);
    FillStat(&files[0], fst);
    return files;
  }
  // Stat every file relative to its directory, one directory per task.
  std::vector<size_t> first(dirs.size() + 1, files.size());
  for (size_t i = files.size(); i-- > 0;) first[dir_of[i]] = i;
  for (size_t d = dirs.size(); d-- > 0;) first[d] = std::min(first[d], first[d + 1]);
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto fail = [&](Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed.exchange(true)) first_error = std::move(s);
  };
  tbb::parallel_for(tbb::blocked_range<size_t>(0, dirs.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t d = r.begin(); d != r.end() && !failed.load(); ++d) {
      if (first[d] == first[d + 1]) continue;
      int dfd = ::open(dirs[d].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) return fail(Status::FromErrno("cannot open " + dirs[d], errno));
      Fd guard(dfd);
      for (size_t i = first[d]; i < first[d + 1]; ++i) {
        const std::string& rel = files[i].rel;
        const char* name = rel.c_str() + (rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
        struct stat fst;
        if (::fstatat(dfd, name, &fst, 0) != 0) return fail(Status::FromErrno("cannot stat " + dirs[d] + "/" + name, errno));
        FillStat(&files[i], fst);
      }
    }
  });
  if (failed) return first_error;
  return files;
}

Result<HashSummary> HashWorkFiles(Repo& repo, const std::string& path, std::vector<WorkFile>* files,
                                  bool store, Progress* progress) {
  std::sort(files->begin(), files->end(), [](const WorkFile& a, const WorkFile& b) { return a.rel < b.rel; });
  CAIRN_ASSIGN_OR_RETURN(StatSnapshot snap, repo.state().LoadStatSnapshot(path));
  HashSummary summary;
  std::vector<size_t> todo;
  size_t j = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    WorkFile& f = (*files)[i];
    while (j < snap.records.size() && snap.records[j].rel < f.rel) ++j;
    const StatRecord* rec = j < snap.records.size() && snap.records[j].rel == f.rel ? &snap.records[j] : nullptr;
    if (rec && StatMatches(*rec, f.size, f.mtime_ns, f.inode) && (!store || repo.store().Has(rec->oid))) {
      f.oid = rec->oid;
      f.from_cache = true;
      if (progress) progress->Add(1, f.size);
    } else {
      todo.push_back(i);
    }
  }
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> hashed_bytes{0};
  std::mutex mu;
  Status first_error;
  fs::path root = repo.root();
  tbb::parallel_for(tbb::blocked_range<size_t>(0, todo.size(), 16), [&](const tbb::blocked_range<size_t>& r) {
    Sha256 hash;
    std::vector<char> buf;
    for (size_t k = r.begin(); k != r.end() && !failed.load(); ++k) {
      WorkFile& f = (*files)[todo[k]];
      fs::path p = root / WorkFilePath(path, f);
      auto on_bytes = [&](uint64_t n) {
        if (progress) progress->AddBytes(n);
      };
      Status s;
      if (store) {
        uint64_t size = 0;
        auto oid = repo.store().PutFile(p, &size, on_bytes, static_cast<int64_t>(f.size));
        if (oid.ok()) {
          f.oid = *oid;
          f.size = size;
        }
        s = oid.status();
      } else {
        auto in = OpenRead(p);
        s = in.status();
        if (s.ok()) {
          if (buf.empty()) buf.resize(1 << 20);
          uint64_t size = 0;
          for (;;) {
            auto got = ReadSome(in->get(), buf.data(), buf.size(), p);
            if (!got.ok()) {
              s = got.status();
              break;
            }
            if (*got == 0) break;
            hash.Update(buf.data(), *got);
            size += *got;
            on_bytes(*got);
          }
          f.oid = hash.Finish();
          f.size = size;
        }
      }
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = s;
        return;
      }
      hashed_bytes.fetch_add(f.size);
      if (progress) progress->Add(1, 0);
    }
  });
  if (failed) return first_error;
  summary.files_hashed = todo.size();
  summary.bytes_hashed = hashed_bytes.load();
  summary.all_cached = todo.empty() && files->size() == snap.records.size();
  summary.recorded_object = snap.object;
  if (!todo.empty()) CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, path, *files, Oid()));
  return summary;
}

Status RecordWorkFiles(Repo& repo, const std::string& path, const std::vector<WorkFile>& files,
                       const Oid& object) {
  int64_t now = NowNs();
  StatSnapshot snap;
  snap.object = object;
  snap.records.reserve(files.size());
  for (const WorkFile& f : files) snap.records.push_back(StatRecord{f.rel, f.size, f.mtime_ns, f.inode, now, f.oid});
  return repo.state().SaveStatSnapshot(path, snap);
}

Tree ToTree(const std::vector<WorkFile>& files, const std::string& single_name) {
  Tree tree;
  tree.entries.reserve(files.size());
  for (const WorkFile& f : files) {
    tree.entries.push_back(TreeEntry{f.rel.empty() ? single_name : f.rel, f.executable, f.size, f.oid});
  }
  return tree;
}

}  // namespace cairn
