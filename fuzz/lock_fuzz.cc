// ParseLock over cairn.lock (committed, so written by anyone with push
// access). yaml-cpp must not crash or throw past the parser, and an accepted
// lock must survive EncodeLock → ParseLock unchanged (repro compares locks to
// decide what is stale, so a lossy round trip would re-run or skip stages).
#include "cairn/pipeline.h"
#include "fuzz_util.h"

namespace {

bool Same(const cairn::LockedStage& a, const cairn::LockedStage& b) {
  return a.cmd == b.cmd && a.deps == b.deps && a.params == b.params && a.outs == b.outs &&
         a.metrics == b.metrics && a.run == b.run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto lock = ParseLock(fuzz::AsText(data, size));
  if (!lock.ok()) {
    FUZZ_CHECK(lock.status().code() == Code::kCorruption, fuzz::Describe(lock.status()));
    return 0;
  }
  std::string encoded = EncodeLock(*lock);
  auto again = ParseLock(encoded);
  FUZZ_CHECK(again.ok(), "EncodeLock of a parsed lock does not parse: " +
                             fuzz::Describe(again.status()) + "\n" + encoded);
  FUZZ_CHECK(again->size() == lock->size(),
             "stages changed in EncodeLock -> ParseLock:\n" + encoded);
  for (const auto& [name, stage] : *lock) {
    auto it = again->find(name);
    FUZZ_CHECK(it != again->end() && Same(it->second, stage),
               "stage '" + name + "' changed in EncodeLock -> ParseLock:\n" + encoded);
  }
  FUZZ_CHECK(EncodeLock(*again) == encoded, "lock encoding is not stable:\n" + encoded);
  return 0;
}
