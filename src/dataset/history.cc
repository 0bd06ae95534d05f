// Resolving refs and walking version history.
#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "repo/state_db.h"
#include "util/file.h"

namespace cairn {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct DatasetInfo {
  std::string dataset;
  std::string path;           // tracked path in the workspace, if any
  std::optional<Oid> current;  // version in the workspace pointer
};

Result<std::optional<DatasetInfo>> FindDataset(Repo& repo, const std::string& name) {
  // A path to a tracked file or directory (or its pointer) names its dataset.
  auto rel = repo.RelativePath(name);
  if (rel.ok()) {
    std::string r = *rel;
    if (HasPointerSuffix(r)) r.resize(r.size() - kPointerSuffix.size());
    auto data = ReadFile(repo.PointerPath(r));
    if (data.ok()) {
      CAIRN_ASSIGN_OR_RETURN(Pointer p, Pointer::Decode(*data, r + std::string(kPointerSuffix)));
      return std::optional<DatasetInfo>(DatasetInfo{p.dataset, r, p.version});
    }
  }
  if (!ValidateDatasetName(name).ok()) return std::optional<DatasetInfo>();
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  for (const Tracked& t : tracked) {
    if (t.pointer.dataset == name) return std::optional<DatasetInfo>(DatasetInfo{name, t.path, t.pointer.version});
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<Oid> latest, ReadLatest(repo, name));
  CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> known, repo.state().FindVersions(name, ""));
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> tags, ListTags(repo, name));
  if (latest || !known.empty() || !tags.empty()) return std::optional<DatasetInfo>(DatasetInfo{name, "", {}});
  return std::optional<DatasetInfo>();
}

Result<std::string> KnownDatasets(Repo& repo) {
  std::set<std::string> names;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  for (const Tracked& t : tracked) names.insert(t.pointer.dataset);
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> db, repo.state().Datasets());
  names.insert(db.begin(), db.end());
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? std::string("none yet") : out;
}

}  // namespace

Result<Version> LoadVersion(Repo& repo, const Oid& oid) {
  auto data = repo.store().Read(oid);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) {
      return Status::NotFound("version " + oid.ToString() + " is not in the cache",
                              "fetch it from a remote ('cairn pull') or re-add the data");
    }
    return data.status();
  }
  auto v = Version::Decode(*data);
  if (!v.ok()) return v.status().WithContext("version " + oid.ToString());
  return v;
}

Result<Tree> LoadFiles(Repo& repo, const Version& version) {
  if (version.kind == ObjectKind::kBlob) {
    Tree t;
    std::string name = !version.filename.empty() ? version.filename : fs::path(version.dataset).filename().string();
    t.entries.push_back(TreeEntry{name, version.executable, version.size, version.object});
    return t;
  }
  auto data = repo.store().Read(version.object);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) {
      return Status::NotFound("the file list (tree " + version.object.ToString() + ") of dataset " +
                                  version.dataset + " is not in the cache",
                              "fetch it from a remote ('cairn pull'), or it was removed by 'cairn gc'");
    }
    return data.status();
  }
  auto tree = Tree::Decode(*data);
  if (!tree.ok()) return tree.status().WithContext("tree " + version.object.ToString());
  return tree;
}

Result<ResolvedRef> ResolveRef(Repo& repo, const std::string& ref) {
  if (ref.empty()) return Status::InvalidArgument("empty ref", "use NAME, NAME@TAG, NAME@OID, NAME@latest or NAME~N");
  std::string base = ref;
  int back = 0;
  size_t tilde = base.rfind('~');
  if (tilde != std::string::npos) {
    std::string n = base.substr(tilde + 1);
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), back);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size() || back < 0) {
      return Status::InvalidArgument("bad ref '" + ref + "': '~' must be followed by a number of versions");
    }
    base.resize(tilde);
  }
  std::string name = base, spec;
  size_t at = base.rfind('@');
  if (at != std::string::npos) {
    name = base.substr(0, at);
    spec = base.substr(at + 1);
    if (spec.empty()) return Status::InvalidArgument("bad ref '" + ref + "': nothing after '@'");
  }
  if (!name.empty() && name.back() == '/') name.pop_back();
  CAIRN_ASSIGN_OR_RETURN(std::optional<DatasetInfo> info, FindDataset(repo, name));
  if (!info) {
    CAIRN_ASSIGN_OR_RETURN(std::string known, KnownDatasets(repo));
    return Status::NotFound("unknown dataset '" + name + "' in ref '" + ref + "'", "known datasets: " + known);
  }
  ResolvedRef out{info->dataset, Oid(), info->path};
  if (spec.empty() || spec == "latest") {
    std::optional<Oid> v = spec.empty() ? info->current : std::nullopt;
    if (!v) {
      CAIRN_ASSIGN_OR_RETURN(v, ReadLatest(repo, info->dataset));
    }
    if (!v) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> all, repo.state().FindVersions(info->dataset, ""));
      if (!all.empty()) v = all.back();
    }
    if (!v) return Status::NotFound("dataset " + info->dataset + " has no version in this clone");
    out.version = *v;
  } else {
    CAIRN_ASSIGN_OR_RETURN(std::optional<Tag> tag, ReadTag(repo, info->dataset, spec));
    if (tag) {
      out.version = tag->version;
    } else if (IsHexPrefix(spec) && spec.size() >= 7) {
      std::string prefix = Lower(spec);
      CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> found, repo.state().FindVersions(info->dataset, prefix));
      // state.db is only an index: versions it does not know (it was deleted,
      // or they came from elsewhere) are found in the store itself.
      CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> loose, repo.store().FindLoose(prefix));
      for (const Oid& oid : loose) {
        if (std::find(found.begin(), found.end(), oid) != found.end()) continue;
        auto data = repo.store().Read(oid, /*verify=*/false);
        if (!data.ok() || data->compare(0, kVersionHeader.size(), kVersionHeader) != 0) continue;
        auto v = Version::Decode(*data);
        if (v.ok() && v->dataset == info->dataset) found.push_back(oid);
      }
      if (info->current && info->current->Hex().compare(0, prefix.size(), prefix) == 0 &&
          std::find(found.begin(), found.end(), *info->current) == found.end()) {
        found.push_back(*info->current);
      }
      if (found.empty()) {
        return Status::NotFound("no version of " + info->dataset + " has an oid starting with " + spec,
                                "list versions with 'cairn log " + info->dataset + "'");
      }
      if (found.size() > 1) {
        std::string list;
        for (const Oid& o : found) list += "\n  " + info->dataset + "@" + o.Hex().substr(0, 16);
        return Status::Ambiguous("ref '" + ref + "' is ambiguous; candidates:" + list, "give more digits");
      }
      out.version = found[0];
    } else {
      CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> tags, ListTags(repo, info->dataset));
      std::string list;
      for (const Tag& t : tags) list += (list.empty() ? "" : ", ") + t.name;
      std::string fetch = "a tag made in another clone is fetched with 'cairn fetch " + info->dataset + "@" + spec + "'";
      return Status::NotFound("dataset " + info->dataset + " has no tag '" + spec + "'",
                              (list.empty() ? "it has no tags here (oid prefixes need at least 7 hex digits); "
                                            : "its tags here: " + list + "; ") +
                                  fetch);
    }
  }
  // A tag or pointer comes from git or a remote: the version it names must
  // be one of this dataset, or a run would record another dataset's data
  // under this name.
  if (auto named = LoadVersion(repo, out.version); named.ok() && named->dataset != info->dataset) {
    return Status::Corruption("ref '" + ref + "' names version " + out.version.Hex().substr(0, 12) +
                                  " of dataset " + named->dataset + ", not of " + info->dataset,
                              "check who made that tag, and delete it");
  }
  for (int i = 0; i < back; ++i) {
    CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, out.version));
    if (v.parents.empty()) {
      return Status::NotFound("ref '" + ref + "' goes back " + std::to_string(back) + " version" +
                                  (back == 1 ? "" : "s") + ", but " + info->dataset + " has only " +
                                  std::to_string(i) + " before that point",
                              "list its versions with 'cairn log " + info->dataset + "'");
    }
    out.version = v.parents[0];
  }
  return out;
}

// Ends early, without an error, at a parent whose version object is not in
// the cache (a clone that did not fetch it): the last entry's parent is then
// absent, which callers can tell.
Result<std::vector<LogEntry>> Log(Repo& repo, const ResolvedRef& ref, size_t limit) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> tags, ListTags(repo, ref.dataset));
  std::map<Oid, std::vector<std::string>> by_version;
  for (const Tag& t : tags) by_version[t.version].push_back(t.name + (t.golden ? " (golden)" : ""));
  std::vector<LogEntry> out;
  std::optional<Oid> next = ref.version;
  while (next && (limit == 0 || out.size() < limit)) {
    auto loaded = LoadVersion(repo, *next);
    // A clone holds the versions it fetched, not always their ancestors:
    // history then ends at the oldest one here (the last entry's parent is
    // absent, which callers can tell).
    if (!loaded.ok() && loaded.status().code() == Code::kNotFound && !out.empty()) break;
    CAIRN_ASSIGN_OR_RETURN(Version v, std::move(loaded));
    LogEntry e{*next, v, by_version[*next], repo.store().Has(v.object)};
    next = v.parents.empty() ? std::nullopt : std::optional<Oid>(v.parents[0]);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cairn
