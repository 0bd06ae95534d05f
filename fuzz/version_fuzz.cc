// Version::Decode: version objects arrive from remotes and teammates' caches.
// What decodes must survive Encode → Decode: the encoding of the decoded
// version is a fixed point.
#include "cairn/object.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto v = Version::Decode(fuzz::AsText(data, size));
  if (!v.ok()) {
    FUZZ_CHECK(v.status().code() == Code::kCorruption, fuzz::Describe(v.status()));
    return 0;
  }
  std::string encoded = v->Encode();
  auto again = Version::Decode(encoded);
  FUZZ_CHECK(again.ok(),
             "Encode of a decoded version does not decode: " + fuzz::Describe(again.status()));
  const Version& a = *again;
  FUZZ_CHECK(a.dataset == v->dataset && a.kind == v->kind && a.object == v->object &&
                 a.size == v->size && a.files == v->files && a.parents == v->parents &&
                 a.author == v->author && a.time == v->time && a.message == v->message,
             "version changed in Encode -> Decode:\n" + encoded);
  FUZZ_CHECK(a.Encode() == encoded, "version encoding is not stable:\n" + encoded);
  return 0;
}
