// Version::Decode: version objects arrive from remotes and teammates' caches.
// What decodes must name a valid dataset (and a safe file name for a
// single-file version), and its encoding must be a fixed point of
// Encode → Decode.
#include "cairn/object.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto v = Version::Decode(fuzz::AsText(data, size));
  if (!v.ok()) {
    FUZZ_CHECK(v.status().code() == Code::kCorruption, fuzz::Describe(v.status()));
    return 0;
  }
  Status name = ValidateDatasetName(v->dataset);
  FUZZ_CHECK(name.ok(), "decoded a version of an invalid dataset: " + fuzz::Describe(name));
  if (!v->filename.empty()) {
    Status file = ValidateFileName(v->filename, "file name");
    FUZZ_CHECK(file.ok(), "decoded a version with an unsafe file name: " + fuzz::Describe(file));
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
