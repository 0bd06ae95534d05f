// Tree::Decode: tree objects come from the cache, a teammate's cache and
// remotes. Whatever decodes must be sorted and unique, and survive
// Encode → Decode unchanged.
#include "cairn/object.h"
#include "fuzz_util.h"

namespace {

bool SameEntries(const cairn::Tree& a, const cairn::Tree& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const cairn::TreeEntry& x = a.entries[i];
    const cairn::TreeEntry& y = b.entries[i];
    if (x.path != y.path || x.executable != y.executable || x.size != y.size || x.oid != y.oid)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto tree = Tree::Decode(fuzz::AsText(data, size));
  if (!tree.ok()) {
    FUZZ_CHECK(tree.status().code() == Code::kCorruption, fuzz::Describe(tree.status()));
    return 0;
  }
  for (size_t i = 1; i < tree->entries.size(); ++i) {
    FUZZ_CHECK(tree->entries[i - 1].path < tree->entries[i].path,
               "decoded tree entries are not sorted and unique");
  }

  std::string encoded = tree->Encode();
  auto again = Tree::Decode(encoded);
  FUZZ_CHECK(again.ok(),
             "Encode of a decoded tree does not decode: " + fuzz::Describe(again.status()));
  FUZZ_CHECK(SameEntries(*again, *tree), "tree changed in Encode -> Decode");
  FUZZ_CHECK(again->Encode() == encoded, "tree encoding is not stable");
  return 0;
}
