// libgit2, loaded on first use. Linking it directly costs every cairn process
// ~7 ms at start: it and its ~10 dependencies (ssh2, mbedtls, krb5 …) are
// built with BIND_NOW, so all their symbols are bound before main(), while
// only `init` and `gc` read git through it. These forwarders carry the names
// of the libgit2 functions cairn calls, so callers include <git2.h> and call
// them as usual; the first call of each looks the function up in the library
// (dlopen by soname, found at configure time). When the library cannot be
// loaded, LoadGitLibrary() says why and the forwarders fail like libgit2
// does (-1, null), so a command reports an error instead of the process
// exiting.
//
// The signatures below must match <git2.h>; that header is not included here
// so the forwarders can be hidden (a shared object such as the Python module
// must not export them).
#include <dlfcn.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "util/git_lib.h"

#ifndef CAIRN_LIBGIT2_SONAME
#define CAIRN_LIBGIT2_SONAME "libgit2.so"
#endif

namespace {

struct Library {
  void* handle = nullptr;
  std::string error;  // why dlopen failed
};

const Library& Lib() {
  static const Library lib = [] {
    Library l;
    l.handle = dlopen(CAIRN_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!l.handle) l.handle = dlopen("libgit2.so", RTLD_NOW | RTLD_LOCAL);
    if (!l.handle) {
      const char* e = dlerror();
      l.error = e ? e : "unknown error";
    }
    return l;
  }();
  return lib;
}

void* Symbol(const char* name) { return Lib().handle ? dlsym(Lib().handle, name) : nullptr; }

// libgit2's public error struct (git2/errors.h), returned by git_error_last
// when the library itself is missing, so callers' messages say why.
struct MissingLibraryError {
  char* message;
  int klass;
};

// What a forwarder returns when its function cannot be loaded: -1 (libgit2's
// generic error) for int results, null or zero otherwise. Callers check
// cairn::LoadGitLibrary() first, so this only keeps a missing library from
// crashing one that does not.
template <typename R>
R Unavailable() {
  if constexpr (std::is_same_v<R, int>) {
    return -1;
  } else if constexpr (!std::is_void_v<R>) {
    return R{};
  }
}

}  // namespace

namespace cairn {

Status LoadGitLibrary() {
  if (Lib().handle) return Status::OK();
  return Status::Unavailable("cannot load " + std::string(CAIRN_LIBGIT2_SONAME) + ": " + Lib().error,
                             "install libgit2 (scripts/bootstrap)");
}

}  // namespace cairn

#define CAIRN_GIT_FORWARD(ret, name, params, args)                           \
  extern "C" __attribute__((visibility("hidden"))) ret name params {        \
    static const auto fn = reinterpret_cast<ret(*) params>(Symbol(#name)); \
    if (!fn) return Unavailable<ret>();                                      \
    return fn args;                                                          \
  }

extern "C" {
struct git_blob;
struct git_buf;
struct git_commit;
struct git_config;
struct git_diff_options;
struct git_error;
struct git_oid;
struct git_patch;
struct git_reference;
struct git_reference_iterator;
struct git_repository;
struct git_revwalk;
struct git_status_entry;
struct git_status_list;
struct git_status_options;
struct git_tree;
struct git_tree_entry;
}

CAIRN_GIT_FORWARD(int, git_libgit2_init, (), ())
CAIRN_GIT_FORWARD(int, git_libgit2_shutdown, (), ())
extern "C" __attribute__((visibility("hidden"))) const git_error* git_error_last() {
  static const auto fn = reinterpret_cast<const git_error* (*)()>(Symbol("git_error_last"));
  if (fn) return fn();
  static char message[] = "libgit2 could not be loaded";
  static const MissingLibraryError missing{message, 0};
  return reinterpret_cast<const git_error*>(&missing);
}
CAIRN_GIT_FORWARD(int, git_oid_cmp, (const git_oid* a, const git_oid* b), (a, b))
CAIRN_GIT_FORWARD(int, git_repository_open, (git_repository * *out, const char* path), (out, path))
CAIRN_GIT_FORWARD(int, git_repository_open_ext,
                  (git_repository * *out, const char* path, unsigned int flags, const char* ceiling),
                  (out, path, flags, ceiling))
CAIRN_GIT_FORWARD(void, git_repository_free, (git_repository * repo), (repo))
CAIRN_GIT_FORWARD(const char*, git_repository_workdir, (const git_repository* repo), (repo))
CAIRN_GIT_FORWARD(int, git_repository_config_snapshot, (git_config * *out, git_repository* repo), (out, repo))
CAIRN_GIT_FORWARD(int, git_config_get_string, (const char** out, const git_config* cfg, const char* name),
                  (out, cfg, name))
CAIRN_GIT_FORWARD(void, git_config_free, (git_config * cfg), (cfg))
CAIRN_GIT_FORWARD(int, git_reference_iterator_new, (git_reference_iterator * *out, git_repository* repo),
                  (out, repo))
CAIRN_GIT_FORWARD(int, git_reference_next, (git_reference * *out, git_reference_iterator* it), (out, it))
CAIRN_GIT_FORWARD(void, git_reference_iterator_free, (git_reference_iterator * it), (it))
CAIRN_GIT_FORWARD(const char*, git_reference_name, (const git_reference* ref), (ref))
CAIRN_GIT_FORWARD(void, git_reference_free, (git_reference * ref), (ref))
CAIRN_GIT_FORWARD(int, git_revwalk_new, (git_revwalk * *out, git_repository* repo), (out, repo))
CAIRN_GIT_FORWARD(int, git_revwalk_sorting, (git_revwalk * walk, unsigned int mode), (walk, mode))
CAIRN_GIT_FORWARD(int, git_revwalk_push_ref, (git_revwalk * walk, const char* ref), (walk, ref))
CAIRN_GIT_FORWARD(int, git_revwalk_next, (git_oid * out, git_revwalk* walk), (out, walk))
CAIRN_GIT_FORWARD(void, git_revwalk_free, (git_revwalk * walk), (walk))
CAIRN_GIT_FORWARD(int, git_commit_lookup, (git_commit * *out, git_repository* repo, const git_oid* id),
                  (out, repo, id))
CAIRN_GIT_FORWARD(int64_t, git_commit_time, (const git_commit* commit), (commit))
CAIRN_GIT_FORWARD(const git_oid*, git_commit_tree_id, (const git_commit* commit), (commit))
CAIRN_GIT_FORWARD(void, git_commit_free, (git_commit * commit), (commit))
CAIRN_GIT_FORWARD(int, git_tree_lookup, (git_tree * *out, git_repository* repo, const git_oid* id), (out, repo, id))
CAIRN_GIT_FORWARD(size_t, git_tree_entrycount, (const git_tree* tree), (tree))
CAIRN_GIT_FORWARD(const git_tree_entry*, git_tree_entry_byindex, (const git_tree* tree, size_t i), (tree, i))
CAIRN_GIT_FORWARD(int, git_tree_entry_type, (const git_tree_entry* e), (e))
CAIRN_GIT_FORWARD(const char*, git_tree_entry_name, (const git_tree_entry* e), (e))
CAIRN_GIT_FORWARD(const git_oid*, git_tree_entry_id, (const git_tree_entry* e), (e))
CAIRN_GIT_FORWARD(void, git_tree_free, (git_tree * tree), (tree))
CAIRN_GIT_FORWARD(int, git_blob_lookup, (git_blob * *out, git_repository* repo, const git_oid* id), (out, repo, id))
CAIRN_GIT_FORWARD(const void*, git_blob_rawcontent, (const git_blob* blob), (blob))
CAIRN_GIT_FORWARD(uint64_t, git_blob_rawsize, (const git_blob* blob), (blob))
CAIRN_GIT_FORWARD(void, git_blob_free, (git_blob * blob), (blob))
// The clean-work-tree check of a run start (src/tracking/git_status.cc).
CAIRN_GIT_FORWARD(int, git_repository_head, (git_reference * *out, git_repository* repo), (out, repo))
CAIRN_GIT_FORWARD(int, git_repository_head_unborn, (git_repository * repo), (repo))
CAIRN_GIT_FORWARD(int, git_repository_head_detached, (git_repository * repo), (repo))
CAIRN_GIT_FORWARD(const git_oid*, git_reference_target, (const git_reference* ref), (ref))
CAIRN_GIT_FORWARD(char*, git_oid_tostr_s, (const git_oid* oid), (oid))
CAIRN_GIT_FORWARD(int, git_status_options_init, (git_status_options * opts, unsigned int version), (opts, version))
CAIRN_GIT_FORWARD(int, git_status_list_new,
                  (git_status_list * *out, git_repository* repo, const git_status_options* opts), (out, repo, opts))
CAIRN_GIT_FORWARD(size_t, git_status_list_entrycount, (git_status_list * list), (list))
CAIRN_GIT_FORWARD(const git_status_entry*, git_status_byindex, (git_status_list * list, size_t idx), (list, idx))
CAIRN_GIT_FORWARD(void, git_status_list_free, (git_status_list * list), (list))
// Untracked files as new-file patches (src/tracking/git_status.cc).
CAIRN_GIT_FORWARD(int, git_diff_options_init, (git_diff_options * opts, unsigned int version), (opts, version))
CAIRN_GIT_FORWARD(int, git_patch_from_buffers,
                  (git_patch * *out, const void* old_buffer, size_t old_len, const char* old_as_path,
                   const void* new_buffer, size_t new_len, const char* new_as_path, const git_diff_options* opts),
                  (out, old_buffer, old_len, old_as_path, new_buffer, new_len, new_as_path, opts))
CAIRN_GIT_FORWARD(int, git_patch_to_buf, (git_buf * out, git_patch* patch), (out, patch))
CAIRN_GIT_FORWARD(void, git_patch_free, (git_patch * patch), (patch))
CAIRN_GIT_FORWARD(void, git_buf_dispose, (git_buf * buffer), (buffer))
