#include "cairn/object.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace cairn {
namespace {

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string EscapeLine(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::string UnescapeLine(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A name in an object that would lead a write out of its directory. The
// caller adds which object it is.
Status Hostile(const Status& why) {
  return Status::Corruption("corrupt: " + why.message(),
                            "nothing was written from it; it came from a remote or another cache, so ask who "
                            "pushed it, and run 'cairn fsck'");
}

// Splits "key value" at the first space.
std::pair<std::string_view, std::string_view> KeyValue(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {line, {}};
  return {line.substr(0, sp), line.substr(sp + 1)};
}

// Why `path` is not a safe relative path, or "" when it is. Shared by the
// dataset-name and file-path checks so both refuse the same escapes.
std::string UnsafeRelativePath(std::string_view path) {
  if (path.empty()) return "it is empty";
  if (path.front() == '/') return "it is an absolute path";
  if (HasControl(path)) return "it contains control characters";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return "it has an empty path component";
    if (part == "..") return "it has a '..' component";
    if (part == ".") return "it has a '.' component";
    start = end + 1;
  }
  return {};
}

}  // namespace

Status ValidateDatasetName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid dataset name '" + EscapeLine(name) + "': " + why);
  };
  if (name.find_first_of("@~") != std::string_view::npos) return bad("'@' and '~' are reserved for refs");
  if (std::string why = UnsafeRelativePath(name); !why.empty()) {
    if (why == "it has a '..' component") why = "it points outside the repository";
    if (why == "it is an absolute path") why = "it must be relative to the repository root";
    return bad(why);
  }
  return Status::OK();
}

Status ValidateTreePath(std::string_view p) {
  if (p.empty() || HasControl(p)) {
    return Status::InvalidArgument("cannot track file name '" + EscapeLine(p) +
                                   "': control characters (such as newlines) are not supported",
                                   "rename the file");
  }
  return Status::OK();
}

Status ValidateRelativePath(std::string_view path, std::string_view what) {
  std::string why = UnsafeRelativePath(path);
  if (why.empty()) return Status::OK();
  return Status::InvalidArgument(std::string(what) + " '" + EscapeLine(path) + "' is not a safe relative path: " + why);
}

Status ValidateFileName(std::string_view name, std::string_view what) {
  if (name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " '" + EscapeLine(name) + "' must be a single file name");
  }
  return ValidateRelativePath(name, what);
}

Status CheckTreeShape(const std::vector<TreeEntry>& entries) {
  // Entries are sorted and unique; a file may still be named as the directory
  // of another entry ("a" and "a/b"), which no directory can hold.
  std::unordered_set<std::string_view> files;
  files.reserve(entries.size());
  for (const TreeEntry& e : entries) files.insert(e.path);
  for (const TreeEntry& e : entries) {
    for (size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      if (files.count(std::string_view(e.path).substr(0, slash))) {
        return Status::InvalidArgument("tree names '" + e.path.substr(0, slash) + "' both as a file and as the directory of '" +
                                       e.path + "'");
      }
    }
  }
  return Status::OK();
}

uint64_t Tree::TotalSize() const {
  uint64_t total = 0;
  for (const TreeEntry& e : entries) total += e.size;
  return total;
}

Status Tree::Normalize() {
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& p = entries[i].path;
    CAIRN_RETURN_IF_ERROR(ValidateTreePath(p));
    CAIRN_RETURN_IF_ERROR(ValidateRelativePath(p, "file path"));
    if (i > 0 && entries[i - 1].path == p) return Status::InvalidArgument("duplicate path in tree: " + p);
  }
  return CheckTreeShape(entries);
}

std::string Tree::Encode() const {
  std::string out(kTreeHeader);
  out.reserve(entries.size() * 100);
  for (const TreeEntry& e : entries) {
    out += e.executable ? "755 " : "644 ";
    out += std::to_string(e.size);
    out += ' ';
    out += e.oid.Hex();
    out += ' ';
    out += e.path;
    out += '\n';
  }
  return out;
}

Result<Tree> Tree::Decode(std::string_view data) {
  if (data.substr(0, kTreeHeader.size()) != kTreeHeader) {
    if (data.substr(0, 11) == "cairn-tree ") {
      return Status::Corruption("tree object has an unknown format version",
                                "upgrade cairn to read it");
    }
    return Status::Corruption("not a tree object");
  }
  Tree tree;
  size_t pos = kTreeHeader.size();
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return Status::Corruption("tree object is truncated");
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    // "<mode> <size> <64 hex> <path>"
    size_t s1 = line.find(' ');
    size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string_view::npos || line.size() < s2 + 1 + 64 + 2 || line[s2 + 65] != ' ') {
      return Status::Corruption("malformed tree entry: " + std::string(line));
    }
    TreeEntry e;
    std::string_view mode = line.substr(0, s1);
    if (mode != "644" && mode != "755") return Status::Corruption("bad mode in tree entry: " + std::string(line));
    e.executable = mode == "755";
    // Only the canonical spelling (doc/formats.md): no leading zeros, lowercase hex.
    std::string_view size = line.substr(s1 + 1, s2 - s1 - 1);
    if (!ParseInt(size, &e.size) || (size.size() > 1 && size[0] == '0')) {
      return Status::Corruption("bad size in tree entry: " + std::string(line));
    }
    auto oid = Oid::Parse(line.substr(s2 + 1, 64));
    if (!oid.ok() || oid->Hex() != line.substr(s2 + 1, 64)) {
      return Status::Corruption("bad oid in tree entry: " + std::string(line));
    }
    e.oid = *oid;
    e.path = std::string(line.substr(s2 + 66));
    // Names come from elsewhere (a teammate's cache, a remote): one that could
    // lead a checkout out of its directory makes the whole tree corrupt.
    if (Status s = ValidateRelativePath(e.path, "entry"); !s.ok()) return Hostile(s);
    if (!tree.entries.empty() && !(tree.entries.back().path < e.path)) {
      return Status::Corruption("tree entries are not sorted (or repeat) at: " + EscapeLine(e.path));
    }
    tree.entries.push_back(std::move(e));
  }
  if (Status s = CheckTreeShape(tree.entries); !s.ok()) return Hostile(s);
  return tree;
}

std::string Version::Encode() const {
  std::string out(kVersionHeader);
  out += "dataset " + dataset + "\n";
  out += std::string("kind ") + (kind == ObjectKind::kTree ? "tree" : "blob") + "\n";
  out += "object " + object.ToString() + "\n";
  out += "size " + std::to_string(size) + "\n";
  out += "files " + std::to_string(files) + "\n";
  for (const Oid& p : parents) out += "parent " + p.ToString() + "\n";
  out += "author " + EscapeLine(author) + "\n";
  out += "time " + std::to_string(time) + "\n";
  out += "message " + EscapeLine(message) + "\n";
  if (kind == ObjectKind::kBlob) {
    if (!filename.empty()) out += "filename " + EscapeLine(filename) + "\n";
    if (executable) out += "executable true\n";
  }
  return out;
}

Result<Version> Version::Decode(std::string_view data) {
  if (data.substr(0, kVersionHeader.size()) != kVersionHeader) {
    if (data.substr(0, 14) == "cairn-version ") {
      return Status::Corruption("version object has an unknown format version", "upgrade cairn to read it");
    }
    return Status::Corruption("not a version object");
  }
  Version v;
  bool seen_object = false, seen_dataset = false;
  size_t pos = kVersionHeader.size();
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return Status::Corruption("version object is truncated");
    auto [key, value] = KeyValue(data.substr(pos, nl - pos));
    pos = nl + 1;
    if (key == "dataset") {
      v.dataset = std::string(value);
      seen_dataset = true;
    } else if (key == "kind") {
      if (value == "tree") {
        v.kind = ObjectKind::kTree;
      } else if (value == "blob") {
        v.kind = ObjectKind::kBlob;
      } else {
        return Status::Corruption("version object has unknown kind '" + std::string(value) + "'");
      }
    } else if (key == "object" || key == "parent") {
      auto oid = Oid::Parse(value);
      if (!oid.ok()) return Status::Corruption("version object has a bad " + std::string(key) + " oid");
      if (key == "object") {
        v.object = *oid;
        seen_object = true;
      } else {
        v.parents.push_back(*oid);
      }
    } else if (key == "size" || key == "files") {
      if (!ParseInt(value, key == "size" ? &v.size : &v.files)) {
        return Status::Corruption("version object has a bad " + std::string(key));
      }
    } else if (key == "author") {
      v.author = UnescapeLine(value);
    } else if (key == "time") {
      if (!ParseInt(value, &v.time)) return Status::Corruption("version object has a bad time");
    } else if (key == "message") {
      v.message = UnescapeLine(value);
    } else if (key == "filename") {
      v.filename = UnescapeLine(value);
    } else if (key == "executable") {
      v.executable = value == "true";
    }
    // Unknown keys are ignored: later minor revisions may add fields.
  }
  if (!seen_object || !seen_dataset) return Status::Corruption("version object lacks dataset or object");
  if (Status s = ValidateDatasetName(v.dataset); !s.ok()) return Hostile(s);
  if (!v.filename.empty()) {
    if (Status s = ValidateFileName(v.filename, "file name"); !s.ok()) return Hostile(s);
  }
  return v;
}

}  // namespace cairn
