// DecodePackIndex: the .idx of a local pack. Its trailing SHA-256 would stop
// the fuzzer at the checksum, so each input is decoded twice: as it is, and
// with the checksum of its bytes appended (the fuzzer then explores the body).
// What decodes must be usable by the object store's binary search: entries
// strictly sorted by oid, each naming bytes after its record header without
// the offset + length overflowing.
#include "fuzz_util.h"
#include "store/pack.h"

namespace {

void Check(std::string_view data) {
  using namespace cairn;
  auto entries = DecodePackIndex(data, "pack-fuzz.idx");
  if (!entries.ok()) {
    FUZZ_CHECK(entries.status().code() == Code::kCorruption, fuzz::Describe(entries.status()));
    return;
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    const PackEntry& e = (*entries)[i];
    FUZZ_CHECK(i == 0 || (*entries)[i - 1].oid < e.oid,
               "entries not strictly sorted at " + std::to_string(i));
    FUZZ_CHECK(e.offset >= 8 + kPackRecordHeader,
               "entry " + std::to_string(i) + " starts inside the pack header");
    FUZZ_CHECK(e.length <= UINT64_MAX - e.offset,
               "entry " + std::to_string(i) + " offset + length overflows");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = cairn::fuzz::AsText(data, size);
  Check(in);
  std::string sealed(in);
  cairn::Oid sum = cairn::Oid::Of(in);
  sealed.append(reinterpret_cast<const char*>(sum.bytes().data()), cairn::Oid::kSize);
  Check(sealed);
  return 0;
}
