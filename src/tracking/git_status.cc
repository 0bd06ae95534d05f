// The clean-work-tree check of a run start, in-process with libgit2
// (through the forwarders of util/git_lib.cc: a missing library is a
// fallback to the git command, not an error).
#include "tracking/git_status.h"

#include <git2.h>

#include "util/git_ptr.h"

namespace cairn::tracking_internal {
namespace {

// libgit2 is loaded and initialised once for the life of the process: a
// shutdown and a new init at every run start would redo libgit2's global
// set-up each time.
bool Ready() {
  static const bool ready = LoadGitLibrary().ok() && git_libgit2_init() >= 0;
  return ready;
}

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
  if (!Ready()) return std::nullopt;
  GitPtr<git_repository, git_repository_free> repo;
  if (git_repository_open(&repo.p, root.c_str()) != 0) return std::nullopt;
  const char* workdir = git_repository_workdir(repo.p);
  std::error_code ec;
  if (!workdir || !std::filesystem::equivalent(std::filesystem::path(workdir), root, ec) || ec) return std::nullopt;
  if (git_repository_head_unborn(repo.p) != 0) return std::nullopt;  // 1: no commit yet; < 0: unreadable HEAD
  int detached = git_repository_head_detached(repo.p);
  if (detached < 0) return std::nullopt;
  GitPtr<git_reference, git_reference_free> head;
  if (git_repository_head(&head.p, repo.p) != 0) return std::nullopt;
  const git_oid* oid = git_reference_target(head.p);
  if (!oid) return std::nullopt;
  CleanGitState state;
  state.commit = git_oid_tostr_s(oid);
  if (!detached) {
    std::string_view name = git_reference_name(head.p);
    if (!name.starts_with("refs/heads/")) return std::nullopt;
    state.branch = std::string(name.substr(11));
  }

  // Untracked files count unless ignored (git status --untracked-files=all).
  git_status_options opts;
  if (git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION) != 0) return std::nullopt;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  GitPtr<git_status_list, git_status_list_free> list;
  if (git_status_list_new(&list.p, repo.p, &opts) != 0) return std::nullopt;
  size_t n = git_status_list_entrycount(list.p);
  for (size_t i = 0; i < n; ++i) {
    const git_status_entry* e = git_status_byindex(list.p, i);
    if (!e) return std::nullopt;
    if (e->status == GIT_STATUS_CURRENT || e->status == GIT_STATUS_IGNORED) continue;
    const char* path = EntryPath(e);
    if (!path) return std::nullopt;
    if (!IsCairnWrittenPath(path)) return std::nullopt;  // dirty: git itself records it with its diff
  }
  return state;
}

std::optional<std::string> UntrackedFilePatch(const std::string& path, const std::string& content, bool executable) {
  if (!Ready()) return std::nullopt;
  git_diff_options opts;
  if (git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION) != 0) return std::nullopt;
  opts.flags |= GIT_DIFF_SHOW_BINARY;  // a binary file as a "GIT binary patch", as --binary does
  GitPtr<git_patch, git_patch_free> patch;
  if (git_patch_from_buffers(&patch.p, nullptr, 0, path.c_str(), content.data(), content.size(), path.c_str(),
                             &opts) != 0) {
    return std::nullopt;
  }
  git_buf buf = {nullptr, 0, 0};
  if (git_patch_to_buf(&buf, patch.p) != 0) {
    git_buf_dispose(&buf);
    return std::nullopt;
  }
  std::string out(buf.ptr ? buf.ptr : "", buf.size);
  git_buf_dispose(&buf);
  // A patch from buffers knows no file mode: libgit2 writes a blob's.
  const std::string kBlobMode = "\nnew file mode 100644\n";
  size_t mode = out.find(kBlobMode);
  if (mode == std::string::npos) return std::nullopt;
  if (executable) out.replace(mode, kBlobMode.size(), "\nnew file mode 100755\n");
  return out;
}

}  // namespace cairn::tracking_internal
