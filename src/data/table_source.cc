// Where tables come from: the tabular files of a dataset version or of the
// workspace, and opening one of them (a workspace file, a loose cache
// object in place, a packed blob from memory).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "cairn/dataset.h"
#include "cairn/store.h"
#include "cairn/table.h"
#include "data/table_internal.h"
#include "util/file.h"

namespace cairn {
namespace fs = std::filesystem;

namespace {

void AddEntry(TableSet* set, const std::string& path, const Oid& oid, uint64_t size, fs::path file,
              std::string where) {
  auto format = TableFormatFor(fs::path(path).filename().string());
  if (!format) {
    Oid content = oid;
    set->skipped.push_back(TreeEntry{path, false, size, content});
    return;
  }
  set->tables.push_back(TableSource{path, *format, oid, size, std::move(file), std::move(where)});
}

// Regular files below `dir` by '/'-separated relative path, following no
// symlink and skipping .git and .cairn.
Result<std::vector<std::string>> FilesBelow(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
    std::string name = it->path().filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec) && (name == ".git" || name == ".cairn")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    found.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// A reader that keeps what it reads from alive: the bytes of a packed blob,
// or a temporary copy of one (Parquet) that it removes when done.
class OwningReader : public TableReader {
 public:
  OwningReader(std::unique_ptr<std::string> bytes, fs::path temp)
      : bytes_(std::move(bytes)), temp_(std::move(temp)) {}
  ~OwningReader() override {
    inner_.reset();
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  void Adopt(std::unique_ptr<TableReader> inner) {
    inner_ = std::move(inner);
    format_ = inner_->format();
    columns_ = inner_->columns();
    where_ = inner_->where();
    delimiter_ = inner_->delimiter();
    header_ = inner_->header();
  }
  const std::string& bytes() const { return *bytes_; }
  Result<bool> Next(TableBatch* batch) override { return inner_->Next(batch); }

 private:
  std::unique_ptr<std::string> bytes_;
  fs::path temp_;
  std::unique_ptr<TableReader> inner_;
};

}  // namespace

namespace {

Result<TableSet> FromVersion(Repo& repo, const ResolvedRef& resolved, const std::string& ref) {
  CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, resolved.version));
  auto files = LoadFiles(repo, version);
  if (!files.ok()) {
    if (files.status().code() != Code::kNotFound) return files.status();
    return Status::NotFound("dataset version " + resolved.dataset + "@" + resolved.version.Short() +
                                " is not in the cache",
                            "fetch it with 'cairn pull'");
  }
  TableSet set;
  set.dataset = resolved.dataset;
  set.version = resolved.version;
  set.single_file = version.kind != ObjectKind::kTree;
  set.label = ref.find_first_of("@~") == std::string::npos ? resolved.dataset + "@" + resolved.version.Short() : ref;
  for (const TreeEntry& e : files->entries) {
    fs::path file;
    auto loose = repo.store().LooseFile(e.oid);
    if (loose.ok()) file = *loose;
    AddEntry(&set, e.path, e.oid, e.size, file, resolved.dataset + "@" + resolved.version.Short() + ":" + e.path);
  }
  return set;
}

Result<ResolvedRef> ResolveDataset(Repo& repo, const std::string& ref) {
  auto resolved = ResolveRef(repo, ref);
  if (!resolved.ok() && resolved.status().code() == Code::kNotFound &&
      ref.find_first_of("@~") == std::string::npos) {
    return Status::NotFound("no file, directory or dataset named " + ref,
                            "give a workspace path, or a dataset ref such as " + ref + "@v1 ('cairn log')");
  }
  return resolved;
}

}  // namespace

Result<TableSet> VersionTables(Repo& repo, std::string_view ref_text, std::string* tracked_path) {
  std::string ref(ref_text);
  if (ref.empty()) return Status::InvalidArgument("no data given", "give a dataset ref such as data/raw@v2");
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveDataset(repo, ref));
  if (tracked_path) *tracked_path = resolved.path;
  return FromVersion(repo, resolved, ref);
}

Result<TableSet> ResolveTables(Repo& repo, std::string_view ref_text) {
  std::string ref(ref_text);
  if (ref.empty()) return Status::InvalidArgument("no data given", "give a dataset ref (data/raw@v2) or a file path");
  TableSet set;
  fs::path path = fs::path(ref).is_absolute() ? fs::path(ref) : repo.base_dir() / ref;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!ec && (fs::is_directory(st) || fs::is_regular_file(st)) && ref.find_first_of("@~") == std::string::npos) {
    // A tracked dataset's path: its files with their oids (stat cache).
    auto tracked = ResolveRef(repo, ref);
    if (tracked.ok() && !tracked->path.empty()) {
      std::error_code same_ec;
      if (fs::equivalent(repo.root() / tracked->path, path, same_ec) && !same_ec) {
        CAIRN_ASSIGN_OR_RETURN(TableSet ws, WorkspaceTables(repo, tracked->dataset, tracked->path));
        ws.label = ref;
        return ws;
      }
    }
  }
  if (!ec && fs::is_directory(st)) {
    set.label = ref;
    set.root = path;
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> files, FilesBelow(path));
    for (const std::string& f : files) {
      fs::path file = path / f;
      AddEntry(&set, f, Oid(), fs::file_size(file, ec), file, (fs::path(ref) / f).generic_string());
    }
    return set;
  }
  if (!ec && fs::is_regular_file(st)) {
    set.label = ref;
    set.single_file = true;
    set.root = path.parent_path();
    AddEntry(&set, path.filename().string(), Oid(), fs::file_size(path, ec), path, ref);
    return set;
  }
  if (!ec && fs::exists(st)) return Status::InvalidArgument(ref + " is neither a file nor a directory");
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveDataset(repo, ref));
  return FromVersion(repo, resolved, ref);
}

Result<TableSet> WorkspaceTables(Repo& repo, const std::string& dataset, const std::string& tracked_path) {
  CAIRN_ASSIGN_OR_RETURN(Tree files, WorkspaceFiles(repo, tracked_path, /*progress=*/false));
  TableSet set;
  set.dataset = dataset;
  set.label = "workspace";
  fs::path base = repo.root() / tracked_path;
  std::error_code ec;
  bool single = fs::is_regular_file(base, ec);
  set.single_file = single;
  for (const TreeEntry& e : files.entries) {
    fs::path file = single ? base : base / e.path;
    std::string shown = single ? tracked_path : (fs::path(tracked_path) / e.path).generic_string();
    AddEntry(&set, e.path, e.oid, e.size, file, shown);
  }
  return set;
}

namespace table_internal {

Result<Oid> ContentOid(const Oid& blob, const fs::path& file, const std::string& where) {
  if (!blob.IsZero()) return blob;
  if (file.empty()) return Status::InvalidArgument(where + " has neither an oid nor a file");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + where, errno);
  uint64_t size = 0;
  auto oid = HashFd(fd, file, &size);
  ::close(fd);
  return oid;
}

}  // namespace table_internal

Status HashSkipped(TableSet* set, const std::set<std::string>& paths) {
  for (TreeEntry& e : set->skipped) {
    if (!e.oid.IsZero() || !paths.count(e.path) || set->root.empty()) continue;
    fs::path file = set->single_file ? set->root / fs::path(e.path).filename() : set->root / e.path;
    CAIRN_ASSIGN_OR_RETURN(e.oid, table_internal::ContentOid(e.oid, file, file.string()));
  }
  return Status::OK();
}

Result<std::unique_ptr<TableReader>> OpenTable(Repo& repo, const TableSource& source, const TableOptions& options) {
  if (!source.file.empty()) return OpenTableFile(source.file, source.format, source.where, options);
  if (!repo.store().Has(source.blob)) {
    size_t colon = source.where.find(':');
    std::string ref = colon == std::string::npos ? "" : " " + source.where.substr(0, colon);
    return Status::NotFound("the data of " + source.where + " (" + source.blob.Short() + ") is not in the cache",
                            "fetch it with 'cairn pull" + ref + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, repo.store().Read(source.blob));
  if (source.format == TableFormat::kParquet) {
    // DuckDB reads files: a packed (small) blob goes to a temporary copy.
    fs::path temp = repo.tmp_dir() / ("table-" + source.blob.Hex() + "-" + std::to_string(::getpid()) + ".parquet");
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out.flush()) {
        ::unlink(temp.c_str());
        return Status::IOError("cannot write a temporary copy of " + source.where + " in " + repo.tmp_dir().string());
      }
    }
    auto owner = std::make_unique<OwningReader>(nullptr, temp);
    CAIRN_ASSIGN_OR_RETURN(auto inner, OpenTableFile(temp, source.format, source.where, options));
    owner->Adopt(std::move(inner));
    return std::unique_ptr<TableReader>(std::move(owner));
  }
  auto owner = std::make_unique<OwningReader>(std::make_unique<std::string>(std::move(bytes)), fs::path());
  CAIRN_ASSIGN_OR_RETURN(auto inner, OpenTableBytes(owner->bytes(), source.format, source.where, options));
  owner->Adopt(std::move(inner));
  return std::unique_ptr<TableReader>(std::move(owner));
}

}  // namespace cairn
