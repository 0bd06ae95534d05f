// LoadPipeline over cairn.yaml (committed, so written by anyone with push
// access), then ReadParams over the same bytes as params.yaml. yaml-cpp must
// not crash or throw past the loader, and an accepted pipeline must be
// consistent: valid stage names, deps and outs inside the repository, and a
// topological order in which every stage comes after the stages it reads.
#include <algorithm>
#include <set>

#include "cairn/pipeline.h"
#include "fuzz_util.h"

namespace {

bool InsideRepo(const std::string& path) {
  return !path.empty() && path[0] != '/' && path != ".." && !path.starts_with("../") &&
         path.find("/../") == std::string::npos && !path.ends_with("/..");
}

bool ValidStageName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  fuzz::ScratchRepo& scratch = fuzz::ScratchRepo::Get();
  std::string_view text = fuzz::AsText(data, size);
  scratch.Write("cairn.yaml", text);
  scratch.Write("params.yaml", text);
  auto spec = LoadPipeline(scratch.repo());
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == Code::kInvalidArgument, fuzz::Describe(spec.status()));
    return 0;
  }
  std::set<std::string> names;
  for (const StageSpec& s : spec->stages) {
    FUZZ_CHECK(ValidStageName(s.name), "bad stage name accepted: '" + s.name + "'");
    FUZZ_CHECK(names.insert(s.name).second, "stage '" + s.name + "' accepted twice");
    FUZZ_CHECK(!s.cmd.empty(), "stage '" + s.name + "' has no cmd");
    for (const auto* list : {&s.deps, &s.outs, &s.metrics}) {
      for (const std::string& p : *list) {
        if (list == &s.deps && IsDatasetRef(p)) continue;
        FUZZ_CHECK(InsideRepo(p),
                   "stage '" + s.name + "' names a path outside the repository: '" + p + "'");
      }
    }
  }
  FUZZ_CHECK(InsideRepo(spec->params_file),
             "params file outside the repository: '" + spec->params_file + "'");
  FUZZ_CHECK(spec->order.size() == spec->stages.size(), "order is not a permutation of the stages");
  for (size_t i = 0; i < spec->order.size(); ++i) {
    const std::string& n = spec->order[i];
    FUZZ_CHECK(names.count(n), "order names an unknown stage '" + n + "'");
    auto up = spec->upstream.find(n);
    if (up == spec->upstream.end()) continue;
    for (const std::string& u : up->second) {
      auto at = std::find(spec->order.begin(), spec->order.end(), u);
      FUZZ_CHECK(at < spec->order.begin() + static_cast<std::ptrdiff_t>(i),
                 "stage '" + n + "' is ordered before its upstream '" + u + "'");
    }
  }
  for (const StageSpec& s : spec->stages) {
    auto params = ReadParams(scratch.repo(), *spec, s.params);
    if (!params.ok()) {
      Code c = params.status().code();
      FUZZ_CHECK(c == Code::kNotFound || c == Code::kInvalidArgument,
                 fuzz::Describe(params.status()));
    }
  }
  return 0;
}
