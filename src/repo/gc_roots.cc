#include "cairn/gc_roots.h"

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
  static const GcRootRegistry registry = [] {
    GcRootRegistry r;
    r.Add("datasets", ContributeDatasetRoots);
    r.Add("pipelines", ContributePipelineRoots);
    r.Add("runs", ContributeRunRoots);
    r.Add("run-cache", ContributeRunCacheRoots);
    return r;
  }();
  return registry;
}

}  // namespace cairn
