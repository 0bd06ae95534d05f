// The clean-work-tree check of a run start, in-process with libgit2.
//
// util/git_lib.cc forwards only the libgit2 functions other modules call;
// the status and HEAD functions it lacks are looked up in the same loaded
// library (dlopen with RTLD_NOLOAD after LoadGitLibrary() succeeded), so
// nothing is loaded twice and a missing library is a fallback, not an error.
#include "tracking/git_status.h"

#include <dlfcn.h>
#include <git2.h>

#include "util/git_ptr.h"

#ifndef CAIRN_LIBGIT2_SONAME
#define CAIRN_LIBGIT2_SONAME "libgit2.so"
#endif

namespace cairn::tracking_internal {
namespace {

// The libgit2 functions of this file; `ok` is false when any is missing.
struct StatusApi {
  decltype(&git_repository_head_unborn) head_unborn = nullptr;
  decltype(&git_repository_head_detached) head_detached = nullptr;
  decltype(&git_repository_head) head = nullptr;
  decltype(&git_reference_target) reference_target = nullptr;
  decltype(&git_oid_tostr_s) oid_tostr = nullptr;
  decltype(&git_status_options_init) options_init = nullptr;
  decltype(&git_status_list_new) list_new = nullptr;
  decltype(&git_status_list_entrycount) entrycount = nullptr;
  decltype(&git_status_byindex) byindex = nullptr;
  decltype(&git_status_list_free) list_free = nullptr;
  bool ok = false;
};

template <typename F>
bool Find(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

const StatusApi& Api() {
  static const StatusApi api = [] {
    StatusApi a;
    if (!LoadGitLibrary().ok()) return a;
    void* lib = dlopen(CAIRN_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!lib) lib = dlopen("libgit2.so", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!lib) return a;
    a.ok = Find(lib, "git_repository_head_unborn", &a.head_unborn) &&
           Find(lib, "git_repository_head_detached", &a.head_detached) && Find(lib, "git_repository_head", &a.head) &&
           Find(lib, "git_reference_target", &a.reference_target) && Find(lib, "git_oid_tostr_s", &a.oid_tostr) &&
           Find(lib, "git_status_options_init", &a.options_init) && Find(lib, "git_status_list_new", &a.list_new) &&
           Find(lib, "git_status_list_entrycount", &a.entrycount) && Find(lib, "git_status_byindex", &a.byindex) &&
           Find(lib, "git_status_list_free", &a.list_free);
    // Initialised once for the life of the process: a shutdown and a new
    // init at every run start would redo libgit2's global set-up each time.
    if (a.ok && git_libgit2_init() < 0) a.ok = false;
    return a;
  }();
  return api;
}

// A status list, freed through the looked-up function.
struct StatusList {
  git_status_list* p = nullptr;
  StatusList() = default;
  StatusList(const StatusList&) = delete;
  StatusList& operator=(const StatusList&) = delete;
  ~StatusList() {
    if (p) Api().list_free(p);
  }
};

// The path of a status entry (the new side for tracked changes, which is
// the work tree side; the old side when the file was deleted).
const char* EntryPath(const git_status_entry* e) {
  const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
  if (!d) return nullptr;
  return d->new_file.path ? d->new_file.path : d->old_file.path;
}

}  // namespace

bool IsCairnWrittenPath(std::string_view path) {
  // :(exclude).cairn and :(exclude)cairn.lock: the path or anything below it.
  for (std::string_view top : {std::string_view(".cairn"), std::string_view("cairn.lock")}) {
    if (path == top || (path.starts_with(top) && path.size() > top.size() && path[top.size()] == '/')) return true;
  }
  // :(exclude,glob)**/*.cairn and **/.gitignore: the last component.
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return base.ends_with(".cairn") || base == ".gitignore";
}

std::optional<CleanGitState> ReadCleanGitState(const std::filesystem::path& root) {
  const StatusApi& api = Api();
  if (!api.ok) return std::nullopt;
  GitPtr<git_repository, git_repository_free> repo;
  if (git_repository_open(&repo.p, root.c_str()) != 0) return std::nullopt;
  const char* workdir = git_repository_workdir(repo.p);
  std::error_code ec;
  if (!workdir || !std::filesystem::equivalent(std::filesystem::path(workdir), root, ec) || ec) return std::nullopt;
  if (api.head_unborn(repo.p) != 0) return std::nullopt;  // 1: no commit yet; < 0: unreadable HEAD
  int detached = api.head_detached(repo.p);
  if (detached < 0) return std::nullopt;
  GitPtr<git_reference, git_reference_free> head;
  if (api.head(&head.p, repo.p) != 0) return std::nullopt;
  const git_oid* oid = api.reference_target(head.p);
  if (!oid) return std::nullopt;
  CleanGitState state;
  state.commit = api.oid_tostr(oid);
  if (!detached) {
    std::string_view name = git_reference_name(head.p);
    if (!name.starts_with("refs/heads/")) return std::nullopt;
    state.branch = std::string(name.substr(11));
  }

  // Untracked files count unless ignored (git status --untracked-files=all).
  git_status_options opts;
  if (api.options_init(&opts, GIT_STATUS_OPTIONS_VERSION) != 0) return std::nullopt;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  StatusList list;
  if (api.list_new(&list.p, repo.p, &opts) != 0) return std::nullopt;
  size_t n = api.entrycount(list.p);
  for (size_t i = 0; i < n; ++i) {
    const git_status_entry* e = api.byindex(list.p, i);
    if (!e) return std::nullopt;
    if (e->status == GIT_STATUS_CURRENT || e->status == GIT_STATUS_IGNORED) continue;
    const char* path = EntryPath(e);
    if (!path) return std::nullopt;
    if (!IsCairnWrittenPath(path)) return std::nullopt;  // dirty: git itself records it with its diff
  }
  return state;
}

}  // namespace cairn::tracking_internal
