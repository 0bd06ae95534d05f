// Remote configuration in .cairn/config (TOML, committed) and
// .cairn/config.local (ignored by git; credentials only):
//
//   [core]
//   remote = "origin"            # the default remote
//   [remote.origin]
//   url = "s3://bucket/prefix"
//   endpoint_url = "http://127.0.0.1:9000"
//   region = "us-east-1"
//   path_style = true
#include <sys/stat.h>
#include <toml++/toml.h>

#include <sstream>

#include "cairn/remote.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr char kConfigHeader[] = "# cairn repository configuration (TOML). Commit this file.\n";
constexpr char kLocalHeader[] =
    "# Machine-local cairn settings and credentials. Never committed (see .gitignore).\n";

fs::path ConfigPath(Repo& repo) { return repo.layout().config(); }
fs::path LocalPath(Repo& repo) { return repo.layout().config_local(); }

Result<toml::table> Load(const fs::path& path, bool may_be_missing) {
  auto data = ReadFile(path);
  if (!data.ok()) {
    if (may_be_missing && !fs::exists(path)) return toml::table{};
    return data.status();
  }
  try {
    return toml::parse(*data, path.string());
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::Corruption(path.string() + ":" + std::to_string(where.line) + ":" +
                                  std::to_string(where.column) + ": " + std::string(e.description()),
                              "fix the file by hand (it is TOML)");
  }
}

// `mode` 0600 for config.local: it holds secrets, and so does its temp file.
Status Save(const fs::path& path, const toml::table& table, const char* header, mode_t mode = 0644) {
  std::ostringstream out;
  out << header << table << "\n";
  return WriteFileAtomic(path, out.str(), /*sync=*/true, mode);
}

std::string Str(const toml::table* t, const char* key) {
  if (!t) return {};
  return t->get(key) && t->get(key)->is_string() ? std::string(*t->get(key)->value<std::string>()) : std::string();
}

// Fills `spec` from one [remote.NAME] table (fields present override).
void Apply(const toml::table* t, RemoteSpec* spec) {
  if (!t) return;
  auto set = [&](const char* key, std::string* field) {
    std::string v = Str(t, key);
    if (!v.empty()) *field = v;
  };
  set("url", &spec->url);
  set("endpoint_url", &spec->endpoint_url);
  set("region", &spec->region);
  set("profile", &spec->profile);
  set("access_key_id", &spec->access_key_id);
  set("secret_access_key", &spec->secret_access_key);
  if (auto b = t->get("path_style"); b && b->is_boolean()) spec->path_style = *b->value<bool>() ? 1 : 0;
  if (auto j = t->get("jobs"); j && j->is_integer()) spec->jobs = static_cast<int>(*j->value<int64_t>());
}

const toml::table* RemoteTable(const toml::table& root, const std::string& name) {
  const toml::table* remotes = root.get_as<toml::table>("remote");
  return remotes ? remotes->get_as<toml::table>(name) : nullptr;
}

// Checks a URL's syntax only (no credentials needed, nothing contacted).
Status ValidateRemoteUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("unsupported remote URL '" + url + "': " + why,
                                   "use a directory path, file:///abs/path or s3://bucket/prefix");
  };
  if (url.empty()) return bad("empty");
  // "s3:/bucket" or "file:dir" would otherwise read as a relative directory.
  for (const char* scheme : {"s3:", "file:"}) {
    if (url.rfind(scheme, 0) == 0 && url.rfind(std::string(scheme) + "//", 0) != 0) {
      return bad(std::string("'") + scheme + "' must be followed by '//'");
    }
  }
  if (url.rfind("s3://", 0) == 0) {
    std::string bucket = url.substr(5, url.find('/', 5) == std::string::npos ? std::string::npos : url.find('/', 5) - 5);
    if (bucket.size() < 3 || bucket.size() > 63) return bad("bucket names have 3 to 63 characters");
    return Status::OK();
  }
  if (url.rfind("file://", 0) == 0) {
    if (url.size() <= 7 || url[7] != '/') return bad("file:// needs an absolute path (file:///abs/path)");
    return Status::OK();
  }
  if (url.find("://") != std::string::npos) return bad("only directories and s3:// are supported");
  return Status::OK();
}

// A directory remote inside the work tree would be committed, checked out
// over or deleted with it (and a typo such as "s3:/bucket" used to land
// there): refused. Relative directories are relative to the root.
Status RefuseRemoteInWorkTree(Repo& repo, const std::string& url) {
  if (url.rfind("s3://", 0) == 0) return Status::OK();
  fs::path dir = url.rfind("file://", 0) == 0 ? fs::path(url.substr(7)) : fs::path(url);
  if (dir.is_relative()) dir = repo.root() / dir;
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(dir, ec);
  if (ec) resolved = dir.lexically_normal();
  if (!IsInside(resolved, repo.root()) && !IsInside(dir.lexically_normal(), repo.root())) return Status::OK();
  return Status::InvalidArgument(
      "remote directory '" + url + "' is inside the repository's work tree " + repo.root().string(),
      "a directory remote must be outside the repository (for S3, write s3://bucket/prefix)");
}

}  // namespace

Status ValidateRemoteName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return Status::InvalidArgument("bad remote name '" + name + "'",
                                   "use letters, digits, '.', '_' and '-', starting with a letter or digit");
  }
  return Status::OK();
}

Result<RemoteList> ListRemotes(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(toml::table config, Load(ConfigPath(repo), false));
  CAIRN_ASSIGN_OR_RETURN(toml::table local, Load(LocalPath(repo), true));
  RemoteList list;
  list.default_name = Str(local.get_as<toml::table>("core"), "remote");
  if (list.default_name.empty()) list.default_name = Str(config.get_as<toml::table>("core"), "remote");
  std::vector<std::string> names;
  for (const toml::table* t : {&config, &local}) {
    if (const toml::table* remotes = t->get_as<toml::table>("remote")) {
      for (const auto& [k, v] : *remotes) {
        if (!v.is_table()) continue;
        // The config is committed, so anyone with push access names remotes,
        // and a name becomes the directory .cairn/remotes/NAME.
        std::string name(k.str());
        if (!ValidateRemoteName(name).ok()) {
          fs::path file = t == &config ? ConfigPath(repo) : LocalPath(repo);
          return Status::Corruption(file.string() + ": bad remote name '" + name + "'",
                                    "rename [remote.\"" + name + "\"] by hand: use letters, digits, '.', '_' and "
                                    "'-', starting with a letter or digit");
        }
        names.push_back(std::move(name));
      }
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    RemoteSpec spec;
    spec.name = name;
    Apply(RemoteTable(config, name), &spec);
    Apply(RemoteTable(local, name), &spec);
    if (spec.url.empty()) continue;  // credentials for a remote defined nowhere else
    list.remotes.push_back(std::move(spec));
  }
  return list;
}

Result<RemoteSpec> FindRemote(Repo& repo, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(RemoteList list, ListRemotes(repo));
  std::string want = name.empty() ? list.default_name : name;
  if (want.empty() && list.remotes.size() == 1) want = list.remotes[0].name;
  if (want.empty()) {
    if (list.remotes.empty()) {
      return Status::NotFound("no remote is configured",
                              "add one with 'cairn remote add NAME URL' (a directory or s3://bucket/prefix)");
    }
    return Status::NotFound("several remotes and none is the default",
                            "name the remote to use, or set a default with 'cairn remote default NAME'");
  }
  for (RemoteSpec& spec : list.remotes) {
    if (spec.name != want) continue;
    // A relative directory is relative to the repository root, so the
    // committed config works in every clone.
    if (spec.url.find("://") == std::string::npos && !spec.url.empty() && spec.url[0] != '/') {
      spec.url = (repo.root() / spec.url).lexically_normal().string();
    }
    CAIRN_RETURN_IF_ERROR(RefuseRemoteInWorkTree(repo, spec.url).WithContext("remote '" + spec.name + "'"));
    return spec;
  }
  std::string known;
  for (const RemoteSpec& s : list.remotes) known += (known.empty() ? "" : ", ") + s.name;
  return Status::NotFound("no remote named '" + want + "'",
                          known.empty() ? "add it with 'cairn remote add " + want + " URL'" : "known remotes: " + known);
}

Status AddRemote(Repo& repo, const RemoteSpec& spec, bool make_default, bool force) {
  CAIRN_RETURN_IF_ERROR(ValidateRemoteName(spec.name));
  CAIRN_RETURN_IF_ERROR(ValidateRemoteUrl(spec.url));
  CAIRN_RETURN_IF_ERROR(RefuseRemoteInWorkTree(repo, spec.url));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(toml::table config, Load(ConfigPath(repo), false));
  CAIRN_ASSIGN_OR_RETURN(toml::table local, Load(LocalPath(repo), true));
  if (RemoteTable(config, spec.name) && !force) {
    return Status::AlreadyExists("remote '" + spec.name + "' already exists",
                                 "replace it (forced), or remove it first with 'cairn remote remove " + spec.name + "'");
  }
  if (!config.get_as<toml::table>("remote")) config.insert("remote", toml::table{});
  toml::table entry;
  entry.insert("url", spec.url);
  if (!spec.endpoint_url.empty()) entry.insert("endpoint_url", spec.endpoint_url);
  if (!spec.region.empty()) entry.insert("region", spec.region);
  if (!spec.profile.empty()) entry.insert("profile", spec.profile);
  if (spec.path_style >= 0) entry.insert("path_style", spec.path_style == 1);
  if (spec.jobs > 0) entry.insert("jobs", int64_t{spec.jobs});
  config.get_as<toml::table>("remote")->insert_or_assign(spec.name, std::move(entry));
  if (make_default) {
    if (!config.get_as<toml::table>("core")) config.insert("core", toml::table{});
    config.get_as<toml::table>("core")->insert_or_assign("remote", spec.name);
  }
  bool secrets = !spec.access_key_id.empty() || !spec.secret_access_key.empty();
  if (secrets) {
    if (!local.get_as<toml::table>("remote")) local.insert("remote", toml::table{});
    toml::table creds;
    if (!spec.access_key_id.empty()) creds.insert("access_key_id", spec.access_key_id);
    if (!spec.secret_access_key.empty()) creds.insert("secret_access_key", spec.secret_access_key);
    local.get_as<toml::table>("remote")->insert_or_assign(spec.name, std::move(creds));
    CAIRN_RETURN_IF_ERROR(Save(LocalPath(repo), local, kLocalHeader, 0600));
  }
  return Save(ConfigPath(repo), config, kConfigHeader);
}

Status RemoveRemote(Repo& repo, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(toml::table config, Load(ConfigPath(repo), false));
  CAIRN_ASSIGN_OR_RETURN(toml::table local, Load(LocalPath(repo), true));
  bool found = false;
  for (toml::table* t : {&config, &local}) {
    if (toml::table* remotes = t->get_as<toml::table>("remote")) found |= remotes->erase(name) > 0;
    if (toml::table* core = t->get_as<toml::table>("core"); core && Str(core, "remote") == name) core->erase("remote");
  }
  if (!found) return Status::NotFound("no remote named '" + name + "'", "see 'cairn remote list'");
  CAIRN_RETURN_IF_ERROR(Save(ConfigPath(repo), config, kConfigHeader));
  if (fs::exists(LocalPath(repo))) CAIRN_RETURN_IF_ERROR(Save(LocalPath(repo), local, kLocalHeader, 0600));
  std::error_code ec;
  fs::remove_all(repo.layout().remote_index_cache(name), ec);  // its index cache
  return Status::OK();
}

Status SetDefaultRemote(Repo& repo, const std::string& name) {
  CAIRN_RETURN_IF_ERROR(FindRemote(repo, name).status());
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(toml::table config, Load(ConfigPath(repo), false));
  if (!config.get_as<toml::table>("core")) config.insert("core", toml::table{});
  config.get_as<toml::table>("core")->insert_or_assign("remote", name);
  return Save(ConfigPath(repo), config, kConfigHeader);
}

}  // namespace cairn
