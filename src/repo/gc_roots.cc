// The registry of gc roots (cairn/gc_roots.h): contributors called in order,
// the first error failing the collection, and the default registry that lists
// each module's contributor. The contributors themselves live in their
// modules; this file includes none of them.
#include "cairn/gc_roots.h"

#include "cairn/registry.h"

namespace cairn {

void GcRootRegistry::Add(std::string name, GcRootContributor contributor) {
  for (auto& [n, c] : contributors_) {
    if (n == name) {
      c = std::move(contributor);
      return;
    }
  }
  contributors_.emplace_back(std::move(name), std::move(contributor));
}

Status GcRootRegistry::Collect(Repo& repo, const GcRootOptions& options, GcRootSet* roots) const {
  for (const auto& [name, contributor] : contributors_) {
    Status s = contributor(repo, options, roots);
    if (!s.ok()) return s.WithContext("gc roots of " + name);
  }
  return Status::OK();
}

std::vector<std::string> GcRootRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, c] : contributors_) out.push_back(name);
  return out;
}

const GcRootRegistry& DefaultGcRoots() {
  // The one place that names every module's contributor. A module that owns
  // stored objects (models, audit records next) adds its line here.
  static const GcRootRegistry registry = [] {
    GcRootRegistry r;
    r.Add("datasets", ContributeDatasetRoots);
    r.Add("pipelines", ContributePipelineRoots);
    r.Add("runs", ContributeRunRoots);
    r.Add("run-cache", ContributeRunCacheRoots);
    r.Add("models", ContributeModelRoots);
    return r;
  }();
  return registry;
}

}  // namespace cairn
