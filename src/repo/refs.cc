#include "cairn/refs.h"

#include <algorithm>
#include <cctype>

#include "cairn/audit.h"
#include "cairn/object.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace {

std::string EscapeName(const std::string& dataset) {
  std::string out;
  for (char c : dataset) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

std::string UnescapeName(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && s.compare(i, 3, "%2F") == 0) {
      out += '/';
      i += 2;
    } else if (s[i] == '%' && s.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

fs::path TagPath(Repo& repo, const std::string& dataset, const std::string& name) {
  return repo.layout().tag(EscapeName(dataset), name);
}

}  // namespace

std::string EncodeTag(const Tag& t) {
  std::string msg;
  for (char c : t.message) msg += c == '\n' ? ' ' : c;
  return "cairn-tag 1\nversion " + t.version.ToString() + "\ngolden " + (t.golden ? "true" : "false") +
         "\nauthor " + t.author + "\ntime " + std::to_string(t.time) + "\nmessage " + msg + "\n";
}

Result<Tag> DecodeTag(const std::string& data, const std::string& dataset, const std::string& name) {
  Tag t;
  t.dataset = dataset;
  t.name = name;
  if (data.rfind("cairn-tag 1\n", 0) != 0) {
    return Status::Corruption("tag " + dataset + "@" + name + " is damaged or has an unknown format");
  }
  bool have_version = false;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "version") {
      auto oid = Oid::Parse(value);
      if (!oid.ok()) return Status::Corruption("tag " + dataset + "@" + name + " has a bad version oid");
      t.version = *oid;
      have_version = true;
    } else if (key == "golden") {
      t.golden = value == "true";
    } else if (key == "author") {
      t.author = value;
    } else if (key == "time") {
      t.time = std::atoll(value.c_str());
    } else if (key == "message") {
      t.message = value;
    }
  }
  if (!have_version) return Status::Corruption("tag " + dataset + "@" + name + " is truncated");
  return t;
}

std::string EscapeDatasetName(const std::string& dataset) { return EscapeName(dataset); }
std::string UnescapeDatasetName(const std::string& component) { return UnescapeName(component); }

namespace {

}  // namespace

Status ValidateTagName(const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid tag name '" + name + "': " + why,
                                   "use names like v1.0.0, golden-2026, baseline");
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 128) return bad("it is longer than 128 characters");
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return bad("it must start with a letter or digit");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '+') {
      return bad("only letters, digits and . _ - + are allowed");
    }
  }
  if (name == "latest") return bad("'latest' is reserved");
  if (name.size() >= 7 && IsHexPrefix(name)) return bad("it could be mistaken for an oid prefix");
  return Status::OK();
}

namespace {

Status WriteNewTag(Repo& repo, const Tag& tag) {
  CAIRN_RETURN_IF_ERROR(ValidateDatasetName(tag.dataset));
  CAIRN_RETURN_IF_ERROR(ValidateTagName(tag.name));
  fs::path path = TagPath(repo, tag.dataset, tag.name);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "tag"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(EncodeTag(tag)));
  Status s = tmp.CommitNoReplace(path, /*sync=*/true);
  if (s.code() == Code::kAlreadyExists) {
    return Status::AlreadyExists("tag " + tag.dataset + "@" + tag.name + " already exists",
                                 "tags are immutable; choose a new tag name");
  }
  return s;
}

}  // namespace

Status CreateTag(Repo& repo, const Tag& tag) {
  CAIRN_RETURN_IF_ERROR(WriteNewTag(repo, tag));
  if (!tag.golden) return Status::OK();
  // A golden tag is a governance event: without its audit entry it is not made.
  AuditEvent event;
  event.action = "tag.golden";
  event.subjects = {"dataset:" + tag.dataset + "@" + tag.name, tag.version.ToString()};
  event.reason = tag.message;
  event.details = Json{{"dataset", tag.dataset}, {"tag", tag.name}, {"version", tag.version.ToString()}};
  auto entry = AppendAudit(repo, event);
  if (!entry.ok()) {
    fs::path path = TagPath(repo, tag.dataset, tag.name);
    ::unlink(path.c_str());
    return entry.status().WithContext("golden tag " + tag.dataset + "@" + tag.name + " not made: cannot audit it");
  }
  return Status::OK();
}

Status ImportTag(Repo& repo, const Tag& tag) { return WriteNewTag(repo, tag); }

Status DeleteTag(Repo& repo, const std::string& dataset, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<Tag> tag, ReadTag(repo, dataset, name));
  if (!tag) return Status::NotFound("tag " + dataset + "@" + name + " does not exist");
  if (tag->golden) {
    return Status::FailedPrecondition("tag " + dataset + "@" + name + " is golden and cannot be deleted",
                                      "golden versions are protected forever");
  }
  fs::path path = TagPath(repo, dataset, name);
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (::unlink(path.c_str()) != 0) return Status::FromErrno("cannot delete " + path.string(), errno);
  CAIRN_RETURN_IF_ERROR(SyncDirectory(path.parent_path()));
  AuditEvent event;
  event.action = "tag.delete";
  event.subjects = {"dataset:" + dataset + "@" + name, tag->version.ToString()};
  event.details = Json{{"dataset", dataset}, {"tag", name}, {"version", tag->version.ToString()},
                       {"message", tag->message}, {"author", tag->author}, {"time", tag->time}};
  auto entry = AppendAudit(repo, event);
  if (!entry.ok()) {
    // Not audited, so not deleted: the tag comes back as it was.
    (void)WriteFileAtomic(path, bytes, /*sync=*/true);
    return entry.status().WithContext("tag " + dataset + "@" + name + " not deleted: cannot audit it");
  }
  return Status::OK();
}

Result<std::optional<Tag>> ReadTag(Repo& repo, const std::string& dataset, const std::string& name) {
  if (!ValidateTagName(name).ok() && name != "latest") return std::optional<Tag>();
  auto data = ReadFile(TagPath(repo, dataset, name));
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<Tag>();
    return data.status();
  }
  CAIRN_ASSIGN_OR_RETURN(Tag t, DecodeTag(*data, dataset, name));
  return std::optional<Tag>(std::move(t));
}

Result<std::vector<Tag>> ListTags(Repo& repo, const std::string& dataset) {
  std::vector<Tag> out;
  fs::path dir = repo.layout().tags();
  // Tags are gc roots: a directory that cannot be listed is an error.
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> datasets, ListDirNames(dir, /*include_hidden=*/true));
  for (const std::string& escaped : datasets) {
    std::string name = UnescapeName(escaped);
    if (!dataset.empty() && name != dataset) continue;
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> tags, ListDirNames(dir / escaped));  // skips temp files
    for (const std::string& tag : tags) {
      CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(dir / escaped / tag));
      CAIRN_ASSIGN_OR_RETURN(Tag t, DecodeTag(data, name, tag));
      out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(), [](const Tag& a, const Tag& b) {
    return std::tie(a.dataset, a.time, a.name) < std::tie(b.dataset, b.time, b.name);
  });
  return out;
}

Status SetLatest(Repo& repo, const std::string& dataset, const Oid& version) {
  fs::path path = repo.layout().latest(EscapeName(dataset));
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, version.ToString() + "\n", /*sync=*/false);
}

Result<std::optional<Oid>> ReadLatest(Repo& repo, const std::string& dataset) {
  auto data = ReadFile(repo.layout().latest(EscapeName(dataset)));
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<Oid>();
    return data.status();
  }
  std::string s = *data;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  auto oid = Oid::Parse(s);
  if (!oid.ok()) return Status::Corruption("ref latest of " + dataset + " is damaged");
  return std::optional<Oid>(*oid);
}

}  // namespace cairn
