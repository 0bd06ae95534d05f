#include "dataset/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <memory>
#include <mutex>

#include "repo/state_db.h"
#include "util/file.h"
#include "util/progress.h"

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

// Walks a directory tree on all cores: one task per directory reads its
// entries and stats each file relative to the open directory (no per-file
// path walk, and the dentries are hot from readdir). On this class of VM,
// readdir+fstatat per directory in parallel is ~2x one thread.
class ParallelWalker {
 public:
  Status Run(const std::string& root, std::vector<WorkFile>* files, std::vector<std::string>* symlinks) {
    group_.run([this, root] { WalkDir(root, ""); });
    group_.wait();
    if (failed_) return first_error_;
    for (auto& part : parts_) {
      for (auto& f : part->files) files->push_back(std::move(f));
      for (auto& l : part->symlinks) symlinks->push_back(std::move(l));
    }
    return Status::OK();
  }

 private:
  struct Part {
    std::vector<WorkFile> files;
    std::vector<std::string> symlinks;
  };

  void Fail(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.exchange(true)) first_error_ = std::move(s);
  }

  void WalkDir(const std::string& dir, const std::string& rel) {
    if (failed_) return;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Fail(Status::FromErrno("cannot list " + dir, errno));
    int dfd = ::dirfd(d);
    auto part = std::make_unique<Part>();
    while (dirent* e = ::readdir(d)) {
      const char* name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      std::string child_rel = rel.empty() ? std::string(name) : rel + "/" + name;
      unsigned char type = e->d_type;
      struct stat st;
      if (type == DT_UNKNOWN) {
        if (::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          Fail(Status::FromErrno("cannot stat " + dir + "/" + name, errno));
          break;
        }
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
      }
      if (type == DT_DIR) {
        std::string child = dir + "/" + name;
        group_.run([this, child, child_rel] { WalkDir(child, child_rel); });
        continue;
      }
      if (type != DT_REG && type != DT_LNK) {
        Fail(Status::InvalidArgument(dir + "/" + name + " is not a regular file (socket, device or FIFO)",
                                     "move it out of the tracked directory"));
        break;
      }
      if (type == DT_LNK) part->symlinks.push_back(child_rel);
      // Symlinks are stat()ed through (checked to stay inside the repo later).
      if (::fstatat(dfd, name, &st, 0) != 0) {
        Fail(Status::FromErrno("cannot stat " + dir + "/" + name, errno));
        break;
      }
      WorkFile f{std::move(child_rel)};
      FillStat(&f, st);
      part->files.push_back(std::move(f));
    }
    ::closedir(d);
    std::lock_guard<std::mutex> lock(mu_);
    parts_.push_back(std::move(part));
  }

  tbb::task_group group_;
  std::mutex mu_;
  std::atomic<bool> failed_{false};
  Status first_error_;
  std::vector<std::unique_ptr<Part>> parts_;
};

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
  std::vector<std::string> symlinks;
  if (S_ISDIR(st.st_mode)) {
    *kind = PathKind::kDirectory;
    ParallelWalker walker;
    CAIRN_RETURN_IF_ERROR(walker.Run(abs.string(), &files, &symlinks));
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
  return files;
}

Result<HashSummary> HashWorkFiles(Repo& repo, const std::string& path, std::vector<WorkFile>* files,
                                  bool store, Progress* progress, bool record) {
  Result<StatSnapshot> loaded = Status::OK();
  tbb::parallel_invoke(
      [&] {
        tbb::parallel_sort(files->begin(), files->end(),
                           [](const WorkFile& a, const WorkFile& b) { return a.rel < b.rel; });
      },
      [&] { loaded = repo.state().LoadStatSnapshot(path); });
  CAIRN_ASSIGN_OR_RETURN(StatSnapshot snap, std::move(loaded));
  HashSummary summary;
  std::vector<size_t> todo;
  size_t j = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    WorkFile& f = (*files)[i];
    while (j < snap.records.size() && snap.records[j].rel < f.rel) ++j;
    const StatRecord* rec = j < snap.records.size() && snap.records[j].rel == f.rel ? &snap.records[j] : nullptr;
    if (rec && StatMatches(*rec, f.size, f.mtime_ns, f.inode, f.executable) && (!store || repo.store().Has(rec->oid))) {
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
    // Files come sorted, so neighbours share a directory: open each directory
    // once and the files relative to it, sparing a path walk per file.
    std::string dir_rel = "\x01";  // matches no directory
    Fd dir_fd;
    for (size_t k = r.begin(); k != r.end() && !failed.load(); ++k) {
      WorkFile& f = (*files)[todo[k]];
      const std::string rel = WorkFilePath(path, f);
      fs::path p = root / rel;
      size_t slash = rel.rfind('/');
      std::string this_dir = slash == std::string::npos ? "" : rel.substr(0, slash);
      if (this_dir != dir_rel) {
        dir_rel = this_dir;
        dir_fd = Fd(::open((root / dir_rel).c_str(), O_RDONLY | O_DIRECTORY | O_PATH | O_CLOEXEC));
      }
      const char* name = rel.c_str() + (slash == std::string::npos ? 0 : slash + 1);
      auto on_bytes = [&](uint64_t n) {
        if (progress) progress->AddBytes(n);
      };
      Status s;
      auto in = dir_fd.valid() ? OpenReadAt(dir_fd.get(), name, p) : OpenRead(p);
      if (!in.ok()) {
        s = in.status();
      } else if (store) {
        uint64_t size = 0;
        auto oid = repo.store().PutOpenFile(in->Release(), p, &size, on_bytes, static_cast<int64_t>(f.size));
        if (oid.ok()) {
          f.oid = *oid;
          f.size = size;
        }
        s = oid.status();
      } else {
        uint64_t size = 0;
        auto oid = HashFd(in->get(), p, &size, on_bytes);
        if (oid.ok()) {
          f.oid = *oid;
          f.size = size;
        }
        s = oid.status();
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
  if (record && !todo.empty()) CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, path, *files, Oid()));
  return summary;
}

Status RecordWorkFiles(Repo& repo, const std::string& path, const std::vector<WorkFile>& files,
                       const Oid& object) {
  int64_t now = NowNs();
  StatSnapshot snap;
  snap.object = object;
  snap.records.reserve(files.size());
  for (const WorkFile& f : files) snap.records.push_back(StatRecord{f.rel, f.size, f.mtime_ns, f.inode, now, f.oid, f.executable});
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
