// Pointer::Decode: pointer files are committed to git, so anyone with push
// access writes them. What decodes must name a valid dataset and survive
// Encode → Decode unchanged.
#include "cairn/pointer.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto p = Pointer::Decode(fuzz::AsText(data, size), "data.cairn");
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == Code::kCorruption, fuzz::Describe(p.status()));
    return 0;
  }
  Status name = ValidateDatasetName(p->dataset);
  FUZZ_CHECK(name.ok(), "decoded a pointer to an invalid dataset: " + fuzz::Describe(name));

  std::string encoded = p->Encode();
  auto again = Pointer::Decode(encoded, "data.cairn");
  FUZZ_CHECK(again.ok(),
             "Encode of a decoded pointer does not decode: " + fuzz::Describe(again.status()));
  FUZZ_CHECK(again->dataset == p->dataset && again->version == p->version &&
                 again->kind == p->kind && again->object == p->object && again->size == p->size &&
                 again->files == p->files,
             "pointer changed in Encode -> Decode:\n" + encoded);
  FUZZ_CHECK(again->Encode() == encoded, "pointer encoding is not stable");
  return 0;
}
