#include "dataset/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <chrono>
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

// Lists one directory level (recursively) without stat() for directories:
// readdir's d_type tells most types; stats are filled later in parallel.
Status Walk(const fs::path& dir, const std::string& rel, std::vector<WorkFile>* out,
            std::vector<std::string>* symlinks) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("cannot list " + dir.string(), errno);
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.emplace_back(std::move(name), e->d_type);
  }
  ::closedir(d);
  for (auto& [name, type] : entries) {
    std::string child_rel = rel.empty() ? name : rel + "/" + name;
    fs::path child = dir / name;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat(child.c_str(), &st) != 0) return Status::FromErrno("cannot stat " + child.string(), errno);
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
    }
    if (type == DT_DIR) {
      CAIRN_RETURN_IF_ERROR(Walk(child, child_rel, out, symlinks));
    } else if (type == DT_REG) {
      out->push_back(WorkFile{child_rel});
    } else if (type == DT_LNK) {
      symlinks->push_back(child_rel);
      out->push_back(WorkFile{child_rel});
    } else {
      return Status::InvalidArgument(child.string() + " is not a regular file (socket, device or FIFO)",
                                     "move it out of the tracked directory");
    }
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
  std::vector<std::string> symlinks;
  if (S_ISDIR(st.st_mode)) {
    *kind = PathKind::kDirectory;
    CAIRN_RETURN_IF_ERROR(Walk(abs, "", &files, &symlinks));
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
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, files.size(), 512), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end() && !failed.load(); ++i) {
      fs::path p = files[i].rel.empty() ? abs : abs / files[i].rel;
      struct stat fst;
      if (::stat(p.c_str(), &fst) != 0) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = Status::FromErrno("cannot stat " + p.string(), errno);
        return;
      }
      FillStat(&files[i], fst);
    }
  });
  if (failed) return first_error;
  return files;
}

Status HashWorkFiles(Repo& repo, const std::string& path, std::vector<WorkFile>* files, bool store,
                     Progress* progress, uint64_t* files_hashed, uint64_t* bytes_hashed) {
  CAIRN_ASSIGN_OR_RETURN(auto cache, repo.state().LoadStatEntries(path));
  std::vector<size_t> todo;
  for (size_t i = 0; i < files->size(); ++i) {
    WorkFile& f = (*files)[i];
    auto it = cache.find(WorkFilePath(path, f));
    if (it != cache.end() && StatMatches(it->second, f.size, f.mtime_ns, f.inode) &&
        (!store || repo.store().Has(it->second.oid))) {
      f.oid = it->second.oid;
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
        auto oid = repo.store().PutFile(p, &size, on_bytes);
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
  if (files_hashed) *files_hashed = todo.size();
  if (bytes_hashed) *bytes_hashed = hashed_bytes.load();
  std::vector<WorkFile> fresh;
  fresh.reserve(todo.size());
  for (size_t i : todo) fresh.push_back((*files)[i]);
  return RecordWorkFiles(repo, path, fresh);
}

Status RecordWorkFiles(Repo& repo, const std::string& path, const std::vector<WorkFile>& files) {
  int64_t now = NowNs();
  std::vector<std::pair<std::string, StatEntry>> entries;
  entries.reserve(files.size());
  for (const WorkFile& f : files) {
    entries.emplace_back(WorkFilePath(path, f), StatEntry{f.size, f.mtime_ns, f.inode, now, f.oid});
  }
  return repo.state().PutStatEntries(entries);
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
