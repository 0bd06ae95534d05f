// What a run records about where it ran: machine, OS, git state, software.
#include <git2.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cairn/tracking.h"

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

// Strips "user:password@" from a remote URL.
std::string WithoutCredentials(std::string url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos && at < slash) url.erase(scheme + 3, at - scheme - 2);
  return url;
}

int DiffToBuf(const git_diff_delta*, const git_diff_hunk*, const git_diff_line* line, void* payload) {
  auto* out = static_cast<std::string*>(payload);
  if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
      line->origin == GIT_DIFF_LINE_DELETION) {
    out->push_back(line->origin);
  }
  out->append(line->content, line->content_len);
  return 0;
}

void CaptureGit(Repo& repo, std::map<std::string, std::string>* env, std::string* diff) {
  git_libgit2_init();
  git_repository* g = nullptr;
  if (git_repository_open_ext(&g, repo.root().c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    git_libgit2_shutdown();
    return;
  }
  git_reference* head = nullptr;
  git_object* head_commit = nullptr;
  if (git_repository_head(&head, g) == 0) {
    if (git_reference_is_branch(head)) (*env)["git.branch"] = git_reference_shorthand(head);
    if (git_reference_peel(&head_commit, head, GIT_OBJECT_COMMIT) == 0) {
      char hex[GIT_OID_HEXSZ + 1];
      git_oid_tostr(hex, sizeof hex, git_object_id(head_commit));
      (*env)["git.commit"] = hex;
    }
  } else {
    (*env)["git.commit"] = "";  // no commit yet
  }
  git_remote* origin = nullptr;
  if (git_remote_lookup(&origin, g, "origin") == 0) {
    if (const char* url = git_remote_url(origin)) (*env)["git.remote"] = WithoutCredentials(url);
    git_remote_free(origin);
  }
  git_tree* tree = nullptr;
  if (head_commit) git_commit_tree(&tree, reinterpret_cast<git_commit*>(head_commit));
  git_diff* d = nullptr;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  std::string patch;
  if (git_diff_tree_to_workdir_with_index(&d, g, tree, &opts) == 0) {
    git_diff_print(d, GIT_DIFF_FORMAT_PATCH, DiffToBuf, &patch);
    (*env)["git.dirty"] = git_diff_num_deltas(d) > 0 ? "true" : "false";
    git_diff_free(d);
  }
  if (diff) *diff = std::move(patch);
  git_tree_free(tree);
  git_object_free(head_commit);
  git_reference_free(head);
  git_repository_free(g);
  git_libgit2_shutdown();
}

// First line of a command's output, or empty when it fails.
std::string FirstLine(const std::string& command) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {};
  char buf[512];
  std::string line;
  if (std::fgets(buf, sizeof buf, p)) line = buf;
  while (std::fgets(buf, sizeof buf, p)) {
  }
  int rc = ::pclose(p);
  return rc == 0 ? Trim(line) : std::string();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::map<std::string, std::string> CaptureEnvironment(Repo& repo, std::string* diff) {
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
  std::string mem = ProcField("/proc/meminfo", "MemTotal");  // "16384 kB"
  if (!mem.empty()) env["memory.bytes"] = std::to_string(std::stoull(mem) * 1024);
  CaptureGpus(&env);
  env["cairn.version"] = "0.1.0";
  env["cairn.compiler"] = "gcc " __VERSION__;
  if (repo.has_git()) CaptureGit(repo, &env, diff);
  return env;
}

std::map<std::string, std::string> CaptureSoftware(const std::string& python) {
  std::map<std::string, std::string> env;
  std::string cc = FirstLine("c++ --version");
  if (!cc.empty()) env["software.c++"] = cc;
  if (python.empty()) return env;
  // One interpreter start gives its version and every installed distribution.
  const char* script =
      "import sys, importlib.metadata as m\n"
      "print(sys.version.split()[0])\n"
      "for d in m.distributions():\n"
      "  n = d.metadata['Name']\n"
      "  if n: print(n, d.version)\n";
  FILE* p = ::popen((ShellQuote(python) + " -c " + ShellQuote(script) + " 2>/dev/null").c_str(), "r");
  if (!p) return env;
  char buf[1024];
  bool first = true;
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line = Trim(buf);
    if (first) {
      env["python.version"] = line;
      first = false;
      continue;
    }
    size_t sp = line.find(' ');
    if (sp != std::string::npos) env["python.packages." + line.substr(0, sp)] = line.substr(sp + 1);
  }
  ::pclose(p);
  return env;
}

}  // namespace cairn
