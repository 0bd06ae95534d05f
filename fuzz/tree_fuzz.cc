// Tree::Decode: tree objects come from the cache, a teammate's cache and
// remotes. Whatever decodes must be a tree cairn could have written: sorted,
// unique, safe paths (Normalize accepts it unchanged), in its canonical
// spelling (doc/formats.md: any other spelling is rejected), so it survives
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
  Tree normalized = *tree;
  Status s = normalized.Normalize();
  FUZZ_CHECK(s.ok(), "decoded a tree that Normalize rejects: " + fuzz::Describe(s));
  FUZZ_CHECK(SameEntries(normalized, *tree), "decoded tree entries are not in canonical order");

  std::string encoded = tree->Encode();
  FUZZ_CHECK(encoded == fuzz::AsText(data, size), "decoded a tree that is not in canonical form");
  auto again = Tree::Decode(encoded);
  FUZZ_CHECK(again.ok(),
             "Encode of a decoded tree does not decode: " + fuzz::Describe(again.status()));
  FUZZ_CHECK(SameEntries(*again, *tree), "tree changed in Encode -> Decode");
  FUZZ_CHECK(again->Encode() == encoded, "tree encoding is not stable");
  return 0;
}
