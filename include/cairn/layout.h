// The one owner of every path under a repository's .cairn/ directory
// (layout version 1, documented in doc/formats.md). Code that needs a file
// there asks the Layout instead of joining names itself, so that the layout
// can change in one place.
//
// A Layout is a value: it only builds paths and never touches the disk.
// Thread-safe (immutable after construction).
#ifndef CAIRN_LAYOUT_H_
#define CAIRN_LAYOUT_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace cairn {

class Layout {
 public:
  // The directory name below the repository root, and the layout version
  // written to config's [core] format.
  static constexpr std::string_view kDirName = ".cairn";
  static constexpr int kVersion = 1;

  Layout() = default;
  // `root`: the repository's root (the work tree holding .cairn/).
  explicit Layout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dir() const { return root_ / kDirName; }

  // ---- configuration (config is committed; see doc/formats.md) ----
  std::filesystem::path config() const { return dir() / "config"; }
  std::filesystem::path config_local() const { return dir() / "config.local"; }
  std::filesystem::path gitignore() const { return dir() / ".gitignore"; }

  // ---- local state ----
  std::filesystem::path state_db() const { return dir() / "state.db"; }
  std::filesystem::path writer_lock() const { return dir() / "lock"; }
  std::filesystem::path repro_lock() const { return dir() / "repro.lock"; }
  std::filesystem::path tmp() const { return dir() / "tmp"; }
  std::filesystem::path checkout_journal() const { return tmp() / "checkout-journal"; }

  // ---- the object cache ----
  std::filesystem::path cache() const { return dir() / "cache"; }
  std::filesystem::path packs() const { return cache() / "packs"; }

  // ---- refs (not in git) ----
  std::filesystem::path refs() const { return dir() / "refs"; }
  // refs/tags/<escaped dataset>/<tag>; `escaped_dataset` as EscapeDatasetName gives it.
  std::filesystem::path tags() const { return refs() / "tags"; }
  std::filesystem::path tag(const std::string& escaped_dataset, const std::string& tag) const {
    return tags() / escaped_dataset / tag;
  }
  std::filesystem::path latest(const std::string& escaped_dataset) const {
    return refs() / "latest" / escaped_dataset;
  }
  std::filesystem::path runs() const { return refs() / "runs"; }
  std::filesystem::path run(const std::string& id) const { return runs() / id; }
  std::filesystem::path experiments() const { return refs() / "experiments"; }
  std::filesystem::path experiment(const std::string& id) const { return experiments() / id; }
  std::filesystem::path run_cache() const { return refs() / "runcache"; }
  std::filesystem::path run_cache_entry(const std::string& key_hex) const { return run_cache() / key_hex; }

  // The model registry (doc/formats.md, "Model registry"): per model NAME
  // ([A-Za-z0-9._-], so no escaping), versions/<N> names the immutable
  // version object; aliases/, deprecated/ and approvals/ are its mutable
  // state.
  std::filesystem::path models() const { return refs() / "models"; }
  std::filesystem::path model(const std::string& name) const { return models() / name; }
  std::filesystem::path model_versions(const std::string& name) const { return model(name) / "versions"; }
  std::filesystem::path model_version(const std::string& name, int64_t n) const {
    return model_versions(name) / std::to_string(n);
  }
  std::filesystem::path model_aliases(const std::string& name) const { return model(name) / "aliases"; }
  std::filesystem::path model_alias(const std::string& name, const std::string& alias) const {
    return model_aliases(name) / alias;
  }
  std::filesystem::path model_deprecations(const std::string& name) const { return model(name) / "deprecated"; }
  std::filesystem::path model_deprecation(const std::string& name, int64_t n) const {
    return model_deprecations(name) / std::to_string(n);
  }
  std::filesystem::path model_approvals(const std::string& name, int64_t n) const {
    return model(name) / "approvals" / std::to_string(n);
  }
  std::filesystem::path model_approval(const std::string& name, int64_t n, const std::string& entry) const {
    return model_approvals(name, n) / entry;
  }

  // Derived objects (cairn/derived.h, doc/formats.md "Derived objects"):
  // derived/<kind>/<subject hex>/<key, or "_" when empty> names the object.
  std::filesystem::path derived() const { return refs() / "derived"; }
  std::filesystem::path derived_kind(const std::string& kind) const { return derived() / kind; }
  std::filesystem::path derived_ref(const std::string& kind, const std::string& subject_hex,
                                    const std::string& key_name) const {
    return derived() / kind / subject_hex / key_name;
  }

  // ---- the audit log (not in git; format "cairn-audit 1", doc/formats.md) ----
  std::filesystem::path audit() const { return dir() / "audit"; }
  std::filesystem::path audit_log() const { return audit() / "log"; }
  std::filesystem::path audit_head() const { return audit() / "HEAD"; }
  // The log's own lock: the innermost lock (taken while the writer lock may be held).
  std::filesystem::path audit_lock() const { return audit() / "lock"; }
  // Public keys that signed entries verify against (committed to git):
  // keys/<key id>.pub.
  std::filesystem::path keys() const { return dir() / "keys"; }
  std::filesystem::path key(const std::string& key_id) const { return keys() / (key_id + ".pub"); }

  // ---- caches that are safe to delete ----
  // Downloaded pack indexes of the remote `name`.
  std::filesystem::path remote_index_cache(const std::string& name) const { return dir() / "remotes" / name; }
  // Read-only copies that Python's use_dataset makes of versions not in the
  // workspace: datasets/<version hex>/. Collected by gc (doc/formats.md).
  std::filesystem::path dataset_copies() const { return dir() / "datasets"; }
  std::filesystem::path dataset_copy(const std::string& version_hex) const { return dataset_copies() / version_hex; }
  // Read-only copies that Python's use_model makes of model versions:
  // models/<version object hex>/ (the artifact and its provenance.json).
  std::filesystem::path model_copies() const { return dir() / "models"; }
  std::filesystem::path model_copy(const std::string& version_hex) const { return model_copies() / version_hex; }

 private:
  std::filesystem::path root_;
};

}  // namespace cairn

#endif  // CAIRN_LAYOUT_H_
