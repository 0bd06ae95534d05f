// What a run records about where it ran: machine, OS, git state, software.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>
#include <string>

#include "cairn/version.h"
#include "cairn/tracking.h"
#include "tracking/git_status.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"

extern char** environ;

namespace cairn {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The value after "key" and a colon in a /proc-style "key : value" file.
std::string ProcField(const char* file, std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(key)) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return Trim(line.substr(colon + 1));
    }
  }
  return {};
}

std::string OsPrettyName() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

// NVIDIA GPUs the driver exposes (no nvidia-smi needed).
void CaptureGpus(std::map<std::string, std::string>* env) {
  std::error_code ec;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    std::string model = ProcField((e.path() / "information").c_str(), "Model");
    (*env)["gpu." + std::to_string(n++)] = model.empty() ? "NVIDIA GPU" : model;
  }
  (*env)["gpu.count"] = std::to_string(n);
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) (*env)["gpu.cuda_visible_devices"] = v;
}

// Strips "user:password@" and any query string (tokens) from a remote URL.
std::string WithoutCredentials(std::string url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos && at < slash) url.erase(scheme + 3, at - scheme - 2);
  if (scheme != std::string::npos) url = url.substr(0, url.find_first_of("?#"));
  return url;
}

// Runs argv (searched in $PATH) and returns its stdout, or nothing when it
// cannot start or (with `need_success`) exits non-zero. stderr is discarded.
std::optional<std::string> Capture(const std::vector<std::string>& argv, bool need_success = true) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (std::string& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string data;
  if (rc == 0) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) data.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(out[0]);
  if (rc != 0) return std::nullopt;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (need_success && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) return std::nullopt;
  return data;
}

// remote.origin.url, read from .git/config when that is a plain file (the
// common case, and a process less); else asked of git (worktrees, includes).
std::optional<std::string> OriginUrl(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::path config = root / ".git" / "config";
  if (!std::filesystem::is_directory(root / ".git", ec)) {
    auto url = Capture({"git", "-C", root.string(), "config", "--get", "remote.origin.url"});
    if (url) *url = Trim(*url);
    return url;
  }
  std::ifstream in(config);
  std::string line;
  bool in_origin = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.starts_with("[")) {
      in_origin = line == "[remote \"origin\"]";
    } else if (in_origin && line.starts_with("url")) {
      size_t eq = line.find('=');
      if (eq != std::string::npos && Trim(line.substr(3, eq - 3)).empty()) return Trim(line.substr(eq + 1));
    }
  }
  return std::nullopt;
}

// Git facts. A clean work tree (the common case of a sweep) is read
// in-process with libgit2, started once per process (git_status.cc); a
// dirty one, or one libgit2 cannot read with certainty, through the git
// command (a short process, ~1.5-3 ms; more when dirty), which also gives
// the diff. Both apply the same rule.
// Whether an untracked file's name says it holds credentials: its content
// must not be copied into a run's diff.
bool LooksLikeSecret(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == ".env" || name.starts_with(".env.") || name == ".netrc" || name == ".pgpass" ||
      name.starts_with("id_rsa") || name.starts_with("id_ed25519") || name.starts_with("id_ecdsa")) {
    return true;
  }
  for (std::string_view ext : {".pem", ".key", ".p12", ".pfx", ".jks", ".keystore"}) {
    if (name.ends_with(ext)) return true;
  }
  for (std::string_view word : {"secret", "credential", "password", "token"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

// An untracked file as a new-file patch: in-process for a regular file (a
// start in a tree of many untracked files runs no process per file), else
// (a symlink; libgit2 missing) by `git diff --no-index`.
std::optional<std::string> UntrackedPatch(const fs::path& root, const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(root / path, ec);
  if (!ec && fs::is_regular_file(st)) {
    if (auto content = ReadFile(root / path); content.ok()) {
      bool executable = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
      if (auto patch = tracking_internal::UntrackedFilePatch(path, *content, executable)) return patch;
    }
  }
  return Capture({"git", "-C", root.string(), "diff", "--no-index", "--no-color", "--no-ext-diff", "--binary", "--",
                  "/dev/null", path},
                 /*need_success=*/false);  // exit 1: the files differ
}

// "Dirty" is about code: modified tracked files and untracked files that
// git does not ignore (a new script that ran is code the commit lacks; its
// content joins the diff). Files cairn writes itself (pointer files, the
// .gitignore lines of 'add', cairn.lock) are left out; data versions are
// recorded as the run's inputs instead. Without this, every pipeline stage
// after the first would look dirty because of the previous stage's outputs.
// `top` is the top of the git work tree.
void CaptureGit(const std::filesystem::path& top, std::map<std::string, std::string>* env, std::string* diff) {
  if (auto clean = tracking_internal::ReadCleanGitState(top)) {
    (*env)["git.commit"] = clean->commit;
    if (!clean->branch.empty()) (*env)["git.branch"] = clean->branch;
    (*env)["git.dirty"] = "false";
    if (auto url = OriginUrl(top)) (*env)["git.remote"] = WithoutCredentials(*url);
    return;
  }
  std::string root = top.string();
  const std::vector<std::string> kNotCode = {"--", ".", ":(exclude,glob)**/*.cairn", ":(exclude,glob)**/.gitignore",
                                             ":(exclude)cairn.lock", ":(exclude).cairn"};
  std::vector<std::string> status_argv = {"git", "-C", root, "status", "--porcelain=v2", "--branch",
                                          "--untracked-files=all"};
  status_argv.insert(status_argv.end(), kNotCode.begin(), kNotCode.end());
  auto status = Capture(status_argv);
  if (!status) return;
  bool dirty = false;
  bool tracked_changes = false;
  std::vector<std::string> untracked;
  size_t pos = 0;
  while (pos < status->size()) {
    size_t nl = status->find('\n', pos);
    if (nl == std::string::npos) nl = status->size();
    std::string_view line(status->data() + pos, nl - pos);
    pos = nl + 1;
    if (line.starts_with("# branch.oid ")) {
      std::string_view oid = line.substr(13);
      (*env)["git.commit"] = oid == "(initial)" ? std::string() : std::string(oid);
    } else if (line.starts_with("# branch.head ")) {
      std::string_view head = line.substr(14);
      if (head != "(detached)") (*env)["git.branch"] = std::string(head);
    } else if (line.starts_with("? ")) {
      dirty = true;
      untracked.emplace_back(line.substr(2));  // C-quoted by git when it holds special characters
    } else if (!line.empty() && line[0] != '#') {
      dirty = true;
      tracked_changes = true;
    }
  }
  (*env)["git.dirty"] = dirty ? "true" : "false";
  if (auto url = OriginUrl(top)) (*env)["git.remote"] = WithoutCredentials(*url);
  if (!diff) return;
  if (tracked_changes && !(*env)["git.commit"].empty()) {
    std::vector<std::string> diff_argv = {"git", "-C", root, "diff", "--no-color", "--no-ext-diff", "--binary", "HEAD"};
    diff_argv.insert(diff_argv.end(), kNotCode.begin(), kNotCode.end());
    if (auto d = Capture(diff_argv)) {
      *diff = std::move(*d);
    }
  }
  // Untracked files as new-file patches (git apply restores them), up to a
  // bound that keeps a start fast in a work tree full of untracked files:
  // code is small, so a big untracked file is data and only named. Files
  // named like secrets (.env, keys, credentials) are named, never copied:
  // the diff travels with the run to remotes.
  constexpr size_t kMaxUntrackedFiles = 100;
  constexpr uintmax_t kMaxUntrackedFileBytes = 1 << 20;
  constexpr uintmax_t kMaxUntrackedBytes = 4 << 20;
  uintmax_t bytes = 0;
  size_t kept = 0;
  std::vector<std::string> left_out, secrets;
  for (const std::string& path : untracked) {
    if (LooksLikeSecret(path)) {
      secrets.push_back(path);
      continue;
    }
    std::error_code ec;
    uintmax_t size = path.starts_with("\"") ? 0 : std::filesystem::file_size(top / path, ec);
    if (path.starts_with("\"") || ec || kept >= kMaxUntrackedFiles || size > kMaxUntrackedFileBytes ||
        bytes + size > kMaxUntrackedBytes) {
      left_out.push_back(path);
      continue;
    }
    std::optional<std::string> d = UntrackedPatch(top, path);
    if (!d || d->empty()) {
      left_out.push_back(path);
      continue;
    }
    *diff += *d;
    bytes += size;
    ++kept;
  }
  if (!left_out.empty()) {
    *diff += "# cairn: untracked files not included (too many, over 1 MiB or unreadable):\n";
    for (const std::string& path : left_out) *diff += "#   " + path + "\n";
  }
  if (!secrets.empty()) {
    *diff += "# cairn: untracked files not included (named like secrets; add them to .gitignore):\n";
    for (const std::string& path : secrets) *diff += "#   " + path + "\n";
  }
}

}  // namespace

namespace tracking_internal {

std::optional<uint64_t> ParseMemTotalBytes(std::string_view value) {
  uint64_t kb = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kb);
  if (ec != std::errc() || end == value.data() || kb > UINT64_MAX / 1024) return std::nullopt;
  return kb * 1024;
}

}  // namespace tracking_internal

namespace {

// Facts of the machine that do not change while a process lives, read once
// (a sweep starts thousands of runs from one process; /proc/cpuinfo alone
// is a few hundred kB on a large machine).
std::map<std::string, std::string> MachineFacts() {
  std::map<std::string, std::string> env;
  utsname u;
  if (::uname(&u) == 0) {
    env["os.name"] = u.sysname;
    env["os.kernel"] = u.release;
    env["os.machine"] = u.machine;
    env["host"] = u.nodename;
  }
  std::string pretty = OsPrettyName();
  if (!pretty.empty()) env["os.distribution"] = pretty;
  env["cpu.model"] = ProcField("/proc/cpuinfo", "model name");
  env["cpu.cores"] = std::to_string(::sysconf(_SC_NPROCESSORS_ONLN));
  if (auto mem = tracking_internal::ParseMemTotalBytes(ProcField("/proc/meminfo", "MemTotal"))) {
    env["memory.bytes"] = std::to_string(*mem);
  }
  CaptureGpus(&env);
  env["cairn.version"] = kVersion;
  env["cairn.compiler"] = "gcc " __VERSION__;
  return env;
}

// The facts of this machine, and the git facts of the work tree whose top
// is `git_top` (none without one).
std::map<std::string, std::string> CaptureEnvironmentWith(const std::optional<std::filesystem::path>& git_top,
                                                          std::string* diff) {
  static const std::map<std::string, std::string> machine = MachineFacts();
  std::map<std::string, std::string> env = machine;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
    env["gpu.cuda_visible_devices"] = v;
  } else {
    env.erase("gpu.cuda_visible_devices");
  }
  if (git_top) CaptureGit(*git_top, &env, diff);
  return env;
}

}  // namespace

namespace tracking_internal {

std::optional<std::filesystem::path> GitWorkTreeContaining(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::path p = dir;; p = p.parent_path()) {
    if (std::filesystem::exists(p / ".git", ec)) return p;  // a directory, or a file (worktree, submodule)
    if (p == p.root_path() || p.empty()) return std::nullopt;
  }
}

}  // namespace tracking_internal

std::map<std::string, std::string> CaptureEnvironment(Repo& repo, std::string* diff) {
  return CaptureEnvironmentWith(repo.has_git() ? std::optional(repo.root()) : std::nullopt, diff);
}

std::map<std::string, std::string> CaptureCodeEnvironment(const std::filesystem::path& code_dir,
                                                          std::string* diff) {
  return CaptureEnvironmentWith(tracking_internal::GitWorkTreeContaining(code_dir), diff);
}

std::map<std::string, std::string> CaptureSoftware(const std::string& python) {
  std::map<std::string, std::string> env;
  if (auto cc = Capture({"c++", "--version"})) env["software.c++"] = Trim(cc->substr(0, cc->find('\n')));
  if (python.empty()) return env;
  // One interpreter start gives its version and every installed distribution.
  const char* script =
      "import sys, importlib.metadata as m\n"
      "print(sys.version.split()[0])\n"
      "for d in m.distributions():\n"
      "  n = d.metadata['Name']\n"
      "  if n: print(n, d.version)\n";
  auto out = Capture({python, "-c", script}, /*need_success=*/false);
  if (!out) return env;
  bool first = true;
  size_t pos = 0;
  while (pos < out->size()) {
    size_t nl = out->find('\n', pos);
    if (nl == std::string::npos) nl = out->size();
    std::string line = Trim(out->substr(pos, nl - pos));
    pos = nl + 1;
    if (first) {
      env["python.version"] = line;
      first = false;
      continue;
    }
    size_t sp = line.find(' ');
    if (sp != std::string::npos) env["python.packages." + line.substr(0, sp)] = line.substr(sp + 1);
  }
  return env;
}

}  // namespace cairn
