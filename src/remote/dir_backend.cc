// The directory backend: a remote that is a directory on a local or mounted
// file system. Keys map to files below the root. Each Put writes a temporary
// file beside its destination, fsyncs it and renames it into place (then
// fsyncs the directory), so a reader never sees a partial object and an
// acknowledged object survives a crash.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "cairn/sys/backend.h"
#include "util/file.h"

namespace cairn {
namespace {

class DirectoryBackend : public Backend {
 public:
  explicit DirectoryBackend(fs::path root) : root_(std::move(root)) {}

  std::string Describe() const override { return root_.string(); }

  Status Check() override {
    struct stat st;
    if (::stat(root_.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        return Status::NotFound("remote directory " + root_.string() + " does not exist",
                                "create it (mkdir -p) or fix the remote's URL");
      }
      return Status::FromErrno("cannot reach remote directory " + root_.string(), errno);
    }
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("remote " + root_.string() + " is not a directory");
    return Status::OK();
  }

  Status Prepare() override {
    std::error_code ec;
    if (!fs::exists(root_, ec)) CAIRN_RETURN_IF_ERROR(MakeDirs(root_));
    return Check();
  }

  Result<std::string> Get(const std::string& key) override {
    CAIRN_RETURN_IF_ERROR(ValidKey(key));
    stats_.requests++;
    auto data = ReadFile(root_ / key);
    if (!data.ok()) return Missing(key, data.status());
    stats_.bytes_received += data->size();
    return data;
  }

  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override {
    CAIRN_RETURN_IF_ERROR(ValidKey(key));
    stats_.requests++;
    fs::path path = root_ / key;
    auto fd = OpenRead(path);
    if (!fd.ok()) return Missing(key, fd.status());
    std::string out(length, '\0');
    Status s = PreadAll(fd->get(), out.data(), length, static_cast<off_t>(offset), path);
    if (!s.ok()) {
      return Status::Corruption(Describe() + ": " + key + " is shorter than expected (" + s.message() + ")",
                                "check the remote with 'cairn fsck' on it");
    }
    stats_.bytes_received += length;
    return out;
  }

  Status Put(const std::string& key, std::string_view data) override {
    CAIRN_RETURN_IF_ERROR(ValidKey(key));
    stats_.requests++;
    fs::path dest = root_ / key;
    CAIRN_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
    CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(dest.parent_path(), dest.filename().string()));
    CAIRN_RETURN_IF_ERROR(tmp.Write(data));
    CAIRN_RETURN_IF_ERROR(tmp.Commit(dest, /*sync=*/true));
    stats_.bytes_sent += data.size();
    return Status::OK();
  }

  Status Delete(const std::string& key) override {
    CAIRN_RETURN_IF_ERROR(ValidKey(key));
    stats_.requests++;
    fs::path path = root_ / key;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("cannot delete " + path.string(), errno);
    }
    return Status::OK();
  }

  Result<std::vector<RemoteObject>> List(const std::string& prefix) override {
    std::vector<RemoteObject> out;
    CAIRN_RETURN_IF_ERROR(Walk(prefix, /*temporaries=*/false, &out));
    return out;
  }

  Result<uint64_t> RemoveStale(int64_t cutoff) override {
    std::vector<RemoteObject> temps;
    CAIRN_RETURN_IF_ERROR(Walk("", /*temporaries=*/true, &temps));
    uint64_t removed = 0;
    for (const RemoteObject& t : temps) {
      if (t.mtime >= cutoff) continue;
      if (::unlink((root_ / t.key).c_str()) == 0) ++removed;
    }
    return removed;
  }

 private:
  // Keys are relative and never climb out of the root.
  Status ValidKey(const std::string& key) const {
    if (key.empty() || key[0] == '/' || key.find("..") != std::string::npos) {
      return Status::InvalidArgument("bad remote key '" + key + "'");
    }
    return Status::OK();
  }

  Status Missing(const std::string& key, const Status& s) const {
    if (s.code() == Code::kIOError && !fs::exists(root_ / key)) {
      return Status::NotFound(Describe() + ": no object " + key);
    }
    return s;
  }

  // Lists regular files below the root whose key starts with `prefix`; with
  // `temporaries`, only the hidden ".name.tmp-…" files Put leaves when
  // interrupted, else only the others.
  Status Walk(const std::string& prefix, bool temporaries, std::vector<RemoteObject>* out) {
    stats_.requests++;
    // Start from the deepest directory the prefix names, so listing
    // "packs/" does not walk "refs/".
    std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    fs::path start = dir_part.empty() ? root_ : root_ / dir_part;
    std::error_code ec;
    if (!fs::exists(start, ec)) return Status::OK();
    fs::recursive_directory_iterator it(start, ec), end;
    if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().filename().string();
      bool temp = name[0] == '.' && name.find(".tmp-") != std::string::npos;
      if (temp != temporaries) continue;
      std::string key = it->path().lexically_relative(root_).generic_string();
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      struct stat st;
      if (::stat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
      out->push_back({key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
    }
    std::sort(out->begin(), out->end(), [](const RemoteObject& a, const RemoteObject& b) { return a.key < b.key; });
    return Status::OK();
  }

  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenDirectoryBackend(const std::string& path) {
  fs::path root(path);
  if (!root.is_absolute()) {
    return Status::InvalidArgument("remote directory '" + path + "' is not an absolute path",
                                   "give the full path, e.g. /srv/cairn-remote or file:///srv/cairn-remote");
  }
  return std::unique_ptr<Backend>(new DirectoryBackend(root.lexically_normal()));
}

Result<std::unique_ptr<Backend>> OpenBackend(const RemoteSpec& spec) {
  const std::string& url = spec.url;
  if (url.rfind("s3://", 0) == 0) return OpenS3Backend(spec);
  if (url.rfind("file://", 0) == 0) return OpenDirectoryBackend(url.substr(7));
  if (!url.empty() && url[0] == '/') return OpenDirectoryBackend(url);
  return Status::InvalidArgument("unsupported remote URL '" + url + "'",
                                 "use an absolute directory path, file:///path or s3://bucket/prefix");
}

}  // namespace cairn
