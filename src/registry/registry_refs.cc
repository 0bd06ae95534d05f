// The registry's refs under .cairn/refs/models/ (doc/formats.md, "Model
// registry"): line-based text files, one "key value" per line after a
// versioned header, and the readers the operations share.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "registry/registry_internal.h"
#include "util/edit_distance.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn::registry_internal {

// "key value" lines after `header`; Corruption naming `where` otherwise.
Result<std::map<std::string, std::string>> ParseRefLines(std::string_view data, std::string_view header,
                                                         const std::string& where) {
  if (!data.starts_with(header)) {
    return Status::Corruption(where + " is damaged or has an unknown format",
                              "a newer cairn may have written it; upgrade cairn, or run 'cairn fsck'");
  }
  data.remove_prefix(header.size());
  std::map<std::string, std::string> out;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) return Status::Corruption(where + " is truncated", "run 'cairn fsck'");
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    size_t sp = line.find(' ');
    out[std::string(line.substr(0, sp))] = sp == std::string_view::npos ? "" : std::string(line.substr(sp + 1));
  }
  return out;
}

namespace {

bool ParseInt(const std::string& s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A version number as a ref file name: digits, no leading zero.
bool VersionFileName(const std::string& name, int64_t* n) {
  if (name.empty() || name.size() > 18 || name[0] == '0') return false;
  for (char c : name) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return ParseInt(name, n);
}

}  // namespace

std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) out += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
  return out;
}

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string EncodeAlias(const AliasState& a) {
  return std::string(kAliasHeader) + "version " + std::to_string(a.version) + "\nobject " + a.oid.ToString() +
         "\naudit " + OneLine(a.audit_entry) + "\nuser " + OneLine(a.user) + "\ntime " + std::to_string(a.time_ms) +
         "\n";
}

Result<AliasState> DecodeAlias(std::string_view data, const std::string& model, const std::string& alias) {
  std::string where = "alias " + model + "@" + alias;
  CAIRN_ASSIGN_OR_RETURN(auto f, ParseRefLines(data, kAliasHeader, where));
  AliasState a;
  a.alias = alias;
  auto oid = Oid::Parse(f["object"]);
  if (!ParseInt(f["version"], &a.version) || a.version < 1 || !oid.ok() || !ParseInt(f["time"], &a.time_ms)) {
    return Status::Corruption(where + " is damaged (version, object or time)", "run 'cairn fsck'");
  }
  a.oid = *oid;
  a.audit_entry = f["audit"];
  a.user = f["user"];
  return a;
}

std::string EncodeDeprecation(const Deprecation& d) {
  return std::string(kDeprecationHeader) + "user " + OneLine(d.user) + "\ntime " + std::to_string(d.time_ms) +
         "\nreason " + OneLine(d.reason) + "\naudit " + OneLine(d.audit_entry) + "\n";
}

Result<Deprecation> DecodeDeprecation(std::string_view data, const std::string& where) {
  CAIRN_ASSIGN_OR_RETURN(auto f, ParseRefLines(data, kDeprecationHeader, where));
  Deprecation d;
  if (!ParseInt(f["time"], &d.time_ms)) return Status::Corruption(where + " is damaged (time)", "run 'cairn fsck'");
  d.user = f["user"];
  d.reason = f["reason"];
  d.audit_entry = f["audit"];
  return d;
}

std::string EncodeApproval(const Approval& a) {
  return std::string(kApprovalHeader) + "user " + OneLine(a.user) + "\ntime " + std::to_string(a.time_ms) +
         "\nmessage " + OneLine(a.message) + "\n";
}

Result<Approval> DecodeApproval(std::string_view data, const std::string& where, const std::string& entry) {
  CAIRN_ASSIGN_OR_RETURN(auto f, ParseRefLines(data, kApprovalHeader, where));
  Approval a;
  if (!ParseInt(f["time"], &a.time_ms)) return Status::Corruption(where + " is damaged (time)", "run 'cairn fsck'");
  a.user = f["user"];
  a.message = f["message"];
  a.audit_entry = entry;
  return a;
}

Result<std::vector<int64_t>> VersionNumbers(Repo& repo, const std::string& model) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(repo.layout().model_versions(model)));
  std::vector<int64_t> out;
  for (const std::string& name : names) {
    int64_t n = 0;
    if (VersionFileName(name, &n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ModelNames(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(repo.layout().models()));
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (ValidateModelName(name).ok()) out.push_back(name);
  }
  return out;
}

Result<std::optional<Oid>> ReadVersionRef(Repo& repo, const std::string& model, int64_t n) {
  fs::path path = repo.layout().model_version(model, n);
  auto data = ReadFile(path);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<Oid>();
    return data.status();
  }
  std::string s = *data;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  auto oid = Oid::Parse(s);
  if (!oid.ok()) {
    return Status::Corruption("ref of model " + model + "@" + std::to_string(n) + " is damaged: not an oid",
                              "run 'cairn fsck'");
  }
  return std::optional<Oid>(*oid);
}

Result<ModelVersion> LoadVersionObject(Repo& repo, const Oid& oid, const std::string& model, int64_t n) {
  std::string where = "model " + model + "@" + std::to_string(n) + " (" + oid.Short() + ")";
  auto data = repo.store().Read(oid);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) {
      return Status::NotFound(where + ": the version object is not in the cache",
                              "run 'cairn fsck'; restore .cairn/objects from a copy of the repository that has it");
    }
    return data.status().WithContext(where);
  }
  CAIRN_ASSIGN_OR_RETURN(ModelVersion v, ModelVersion::Decode(*data, where));
  if (v.model != model || v.version != n) {
    return Status::Corruption(where + ": the object is " + v.model + "@" + std::to_string(v.version) +
                                  ", not this version",
                              "run 'cairn fsck'");
  }
  return v;
}

Result<ModelVersionState> LoadState(Repo& repo, const std::string& model, int64_t n,
                                    const std::vector<AliasState>& aliases) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<Oid> oid, ReadVersionRef(repo, model, n));
  if (!oid) {
    return Status::NotFound("model " + model + " has no version " + std::to_string(n),
                            "list its versions with 'cairn model versions " + model + "'");
  }
  ModelVersionState st;
  st.oid = *oid;
  CAIRN_ASSIGN_OR_RETURN(st.version, LoadVersionObject(repo, *oid, model, n));
  for (const AliasState& a : aliases) {
    if (a.version == n) st.aliases.push_back(a.alias);
  }
  std::sort(st.aliases.begin(), st.aliases.end());
  fs::path dep_path = repo.layout().model_deprecation(model, n);
  auto dep = ReadFile(dep_path);
  if (dep.ok()) {
    CAIRN_ASSIGN_OR_RETURN(Deprecation d,
                           DecodeDeprecation(*dep, "deprecation of " + model + "@" + std::to_string(n)));
    st.deprecated = true;
    st.deprecated_by = d.user;
    st.deprecated_reason = d.reason;
    st.deprecated_ms = d.time_ms;
  } else if (dep.status().code() != Code::kNotFound) {
    return dep.status();
  }
  fs::path approvals = repo.layout().model_approvals(model, n);
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirNames(approvals));
  for (const std::string& entry : entries) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(approvals / entry));
    CAIRN_ASSIGN_OR_RETURN(Approval a, DecodeApproval(data, "approval " + entry + " of " + model + "@" +
                                                                std::to_string(n), entry));
    st.approvals.push_back(std::move(a));
  }
  std::sort(st.approvals.begin(), st.approvals.end(), [](const Approval& a, const Approval& b) {
    return std::tie(a.time_ms, a.audit_entry) < std::tie(b.time_ms, b.audit_entry);
  });
  return st;
}

std::vector<std::string> Nearest(const std::string& wanted, const std::vector<std::string>& names, size_t n) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& name : names) scored.emplace_back(EditDistance(wanted, name), name);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(scored[i].second);
  return out;
}

Status NoSuchModel(Repo& repo, const std::string& model) {
  auto names = ModelNames(repo);
  std::string hint = "register one with 'cairn model register " + model + " --run RUN --artifact PATH'";
  if (names.ok() && !names->empty()) {
    std::string list;
    for (const std::string& n : Nearest(model, *names, 5)) list += (list.empty() ? "" : ", ") + n;
    hint = "models: " + list + (names->size() > 5 ? ", … ('cairn model list')" : "");
  }
  return Status::NotFound("no model named '" + model + "'", hint);
}

std::string Candidates(const std::vector<int64_t>& versions, const std::vector<AliasState>& aliases) {
  std::string out = "versions: ";
  if (versions.empty()) out += "none";
  if (versions.size() > 6) {
    out += std::to_string(versions.front()) + " … " + std::to_string(versions.back());
  } else {
    for (size_t i = 0; i < versions.size(); ++i) out += (i ? ", " : "") + std::to_string(versions[i]);
  }
  out += "; aliases: ";
  if (aliases.empty()) out += "none";
  for (size_t i = 0; i < aliases.size(); ++i) {
    out += (i ? ", " : "") + aliases[i].alias + " (v" + std::to_string(aliases[i].version) + ")";
  }
  return out + "; and latest";
}

}  // namespace cairn::registry_internal
