// Derived objects and their refs (cairn/derived.h; doc/formats.md,
// "Derived objects").
#include "cairn/derived.h"

#include <algorithm>
#include <map>

#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace {

constexpr char kRefPrefix[] = "refs/derived/";
constexpr char kEmptyKeyName[] = "_";

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerOrDigit(c) || (c >= 'A' && c <= 'Z'); }

std::string KeyName(std::string_view key) { return key.empty() ? kEmptyKeyName : std::string(key); }

Status Bad(const std::string& where, const std::string& what) {
  return Status::Corruption(where + ": damaged derived object: " + what,
                            "'cairn fsck --repair' removes the ref; the result is then computed again when asked for");
}

std::filesystem::path RefPath(Repo& repo, std::string_view kind, const Oid& subject, std::string_view key) {
  return repo.layout().derived_ref(std::string(kind), subject.Hex(), KeyName(key));
}

Result<Oid> ReadRef(const std::filesystem::path& path, const std::string& name) {
  // A ref is a short regular file: a FIFO would block and a link to
  // /dev/zero would never end, so neither is read.
  std::error_code ec;
  auto st = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::is_regular_file(st) || std::filesystem::file_size(path, ec) > 256 || ec) {
    return Status::Corruption(name + ": not a ref file (a short regular file)", "remove it; 'cairn fsck' lists such files");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto oid = Oid::Parse(text);
  if (!oid.ok()) return Status::Corruption(name + ": not an oid", "run 'cairn fsck'");
  return *oid;
}

// Loads the object `ref` names and checks that it is what the ref says.
Result<DerivedObject> LoadChecked(Repo& repo, const DerivedRef& ref) {
  const std::string name = ref.Name();
  auto data = repo.store().Read(ref.object);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) {
      return Status::Corruption(name + " names object " + ref.object.ToString() + ", which is not in the cache",
                                "'cairn fsck --repair' removes the ref; the result is then computed again when asked for");
    }
    return data.status();
  }
  CAIRN_ASSIGN_OR_RETURN(DerivedObject object, DerivedObject::Decode(*data, name));
  if (object.kind != ref.kind || object.subject != ref.subject || object.key != ref.key) {
    return Bad(name, "the object describes " + object.kind + " of " + object.subject.Short() +
                         (object.key.empty() ? "" : " (" + object.key + ")") + ", not what its ref says");
  }
  Status body = CheckDerivedBody(object);
  if (!body.ok()) return Status::Corruption(name + ": " + body.message(), body.hint());
  return object;
}

Status WriteRef(Repo& repo, const DerivedRef& ref) {
  std::filesystem::path path = RefPath(repo, ref.kind, ref.subject, ref.key);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, ref.object.ToString() + "\n", /*sync=*/true);
}

}  // namespace

std::string DerivedObject::Encode() const {
  Json j;
  j["format"] = kDerivedFormat;
  j["kind"] = kind;
  j["subject"] = subject.ToString();
  j["key"] = key;
  j["created"] = created_ms;
  j["body"] = body;
  return DumpJson(j, 1) + "\n";
}

Result<DerivedObject> DerivedObject::Decode(std::string_view data, const std::string& where) {
  Json j = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(where, "not JSON");
  auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != kDerivedFormat) {
    return Status::Corruption(where + ": not a '" + std::string(kDerivedFormat) + "' object",
                              "a newer cairn may have written it; upgrade cairn");
  }
  DerivedObject o;
  try {
    o.kind = j.at("kind").get<std::string>();
    if (!ValidateDerivedKind(o.kind).ok()) return Bad(where, "bad kind '" + o.kind + "'");
    auto subject = Oid::Parse(j.at("subject").get<std::string>());
    if (!subject.ok()) return Bad(where, "bad subject oid");
    o.subject = *subject;
    o.key = j.at("key").get<std::string>();
    if (!ValidateDerivedKey(o.key).ok()) return Bad(where, "bad key");
    if (!j.at("created").is_number_integer()) return Bad(where, "created is not a whole number");
    o.created_ms = j.at("created").get<int64_t>();
    o.body = j.at("body");
  } catch (const Json::exception&) {
    return Bad(where, "a field is missing or of the wrong type");
  }
  return o;
}

std::string DerivedRef::Name() const { return std::string(kRefPrefix) + kind + "/" + subject.Hex() + "/" + KeyName(key); }

Status ValidateDerivedKind(std::string_view kind) {
  bool ok = !kind.empty() && kind.size() <= 32 && kind[0] >= 'a' && kind[0] <= 'z';
  for (char c : kind) ok = ok && (IsLowerOrDigit(c) || c == '-');
  if (!ok) return Status::InvalidArgument("'" + std::string(kind) + "' is not a derived object kind", "use [a-z][a-z0-9-]*");
  return Status::OK();
}

Status ValidateDerivedKey(std::string_view key) {
  if (key.empty()) return Status::OK();
  bool ok = key.size() <= 128 && IsAlnum(key[0]);
  for (char c : key) ok = ok && (IsAlnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return Status::InvalidArgument("'" + std::string(key) + "' is not a derived object key",
                                   "use [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 characters");
  }
  return Status::OK();
}

Result<DerivedRef> ParseDerivedRefName(std::string_view name) {
  auto bad = [&] { return Status::InvalidArgument("'" + std::string(name) + "' is not a derived object ref"); };
  if (!name.starts_with(kRefPrefix)) return bad();
  std::string_view rest = name.substr(std::string_view(kRefPrefix).size());
  size_t a = rest.find('/');
  if (a == std::string_view::npos) return bad();
  size_t b = rest.find('/', a + 1);
  if (b == std::string_view::npos || rest.find('/', b + 1) != std::string_view::npos) return bad();
  DerivedRef ref;
  ref.kind = std::string(rest.substr(0, a));
  std::string_view hex = rest.substr(a + 1, b - a - 1);
  std::string_view key = rest.substr(b + 1);
  if (!ValidateDerivedKind(ref.kind).ok() || hex.size() != 64) return bad();
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad();
  }
  auto subject = Oid::Parse(hex);
  if (!subject.ok()) return bad();
  ref.subject = *subject;
  if (key != kEmptyKeyName) {
    if (key.empty() || !ValidateDerivedKey(key).ok()) return bad();
    ref.key = std::string(key);
  }
  return ref;
}

Result<Oid> PutDerived(Repo& repo, const DerivedObject& object) {
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKind(object.kind));
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKey(object.key));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(Oid oid, repo.store().PutObjectDurable(object.Encode()));
  CAIRN_RETURN_IF_ERROR(WriteRef(repo, DerivedRef{object.kind, object.subject, object.key, oid}));
  return oid;
}

Result<std::optional<DerivedObject>> GetDerived(Repo& repo, std::string_view kind, const Oid& subject,
                                                std::string_view key) {
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKind(kind));
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKey(key));
  DerivedRef ref{std::string(kind), subject, std::string(key), Oid()};
  std::filesystem::path path = RefPath(repo, kind, subject, key);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<DerivedObject>();
  CAIRN_ASSIGN_OR_RETURN(ref.object, ReadRef(path, ref.Name()));
  CAIRN_ASSIGN_OR_RETURN(DerivedObject object, LoadChecked(repo, ref));
  return std::optional<DerivedObject>(std::move(object));
}

Result<std::vector<DerivedRef>> ListDerived(Repo& repo, std::vector<std::string>* problems) {
  std::vector<DerivedRef> out;
  const std::filesystem::path root = repo.layout().derived();
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return out;
  auto stray = [&](const std::string& what) {
    if (problems) problems->push_back(what);
  };
  // A stray file where a directory belongs (an editor's backup …) is a
  // problem to list, not a reason to stop.
  auto is_dir = [&](const std::filesystem::path& p, const std::string& name) {
    std::error_code e;
    if (std::filesystem::is_directory(std::filesystem::symlink_status(p, e))) return true;
    stray(name + ": not a directory (remove it)");
    return false;
  };
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> kinds, ListDirNames(root));
  for (const std::string& kind : kinds) {
    if (!ValidateDerivedKind(kind).ok()) {
      stray(std::string(kRefPrefix) + kind + ": not a derived object kind");
      continue;
    }
    if (!is_dir(root / kind, std::string(kRefPrefix) + kind)) continue;
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> subjects, ListDirNames(root / kind));
    for (const std::string& hex : subjects) {
      if (!is_dir(root / kind / hex, std::string(kRefPrefix) + kind + "/" + hex)) continue;
      CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> keys, ListDirNames(root / kind / hex));
      for (const std::string& key : keys) {
        std::string name = std::string(kRefPrefix) + kind + "/" + hex + "/" + key;
        auto ref = ParseDerivedRefName(name);
        if (!ref.ok()) {
          stray(name + ": not a derived object ref");
          continue;
        }
        auto object = ReadRef(root / kind / hex / key, name);
        if (!object.ok()) {
          stray(object.status().message());
          continue;
        }
        ref->object = *object;
        out.push_back(std::move(*ref));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const DerivedRef& a, const DerivedRef& b) {
    return std::tie(a.kind, a.subject, a.key) < std::tie(b.kind, b.subject, b.key);
  });
  return out;
}

Status ImportDerived(Repo& repo, const DerivedRef& ref) {
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKind(ref.kind));
  CAIRN_RETURN_IF_ERROR(ValidateDerivedKey(ref.key));
  std::error_code ec;
  if (std::filesystem::exists(RefPath(repo, ref.kind, ref.subject, ref.key), ec)) {
    return Status::AlreadyExists(ref.Name() + " exists");
  }
  CAIRN_RETURN_IF_ERROR(LoadChecked(repo, ref).status());
  return WriteRef(repo, ref);
}

Status CollectDerived(Repo& repo, OidSet* live, bool apply, uint64_t* removed) {
  std::vector<std::string> problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> refs, ListDerived(repo, &problems));
  for (const DerivedRef& ref : refs) {
    if (live->count(ref.subject)) {
      live->insert(ref.object);
      continue;
    }
    if (removed) (*removed)++;
    if (!apply) continue;
    std::filesystem::path path = RefPath(repo, ref.kind, ref.subject, ref.key);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) return Status::FromErrno("cannot remove " + path.string(), ec.value());
    std::filesystem::remove(path.parent_path(), ec);  // only when empty; an error is harmless
  }
  return Status::OK();
}

Result<std::vector<DerivedProblem>> CheckDerived(Repo& repo, uint64_t* checked) {
  std::vector<DerivedProblem> out;
  std::vector<std::string> problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> refs, ListDerived(repo, &problems));
  for (const std::string& p : problems) out.push_back(DerivedProblem{"refs/derived", p});
  for (const DerivedRef& ref : refs) {
    if (checked) (*checked)++;
    Status s = LoadChecked(repo, ref).status();
    if (!s.ok()) out.push_back(DerivedProblem{ref.Name(), s.message()});
  }
  return out;
}

Result<std::vector<std::string>> RemoveDamagedDerived(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  std::vector<std::string> removed;
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> refs, ListDerived(repo, nullptr));
  for (const DerivedRef& ref : refs) {
    Status s = LoadChecked(repo, ref).status();
    if (s.ok() || s.code() != Code::kCorruption) continue;
    std::filesystem::path path = RefPath(repo, ref.kind, ref.subject, ref.key);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) return Status::FromErrno("cannot remove " + path.string(), ec.value());
    std::filesystem::remove(path.parent_path(), ec);  // only when empty; an error is harmless
    removed.push_back(ref.Name());
  }
  return removed;
}

}  // namespace cairn
