// PackIndex::Decode: a remote pack index, read from a directory or bucket
// other people write to. As for the local index, each input is decoded as it
// is and with its SHA-256 appended, so the fuzzer gets past the checksum.
// What decodes names its pack by 64 lowercase hex digits (the name becomes an
// object key and a file name), keeps every chunk inside the pack without
// overflow, and survives Encode → Decode unchanged.
#include "fuzz_util.h"
#include "remote/packfile.h"

namespace {

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool Same(const cairn::PackIndex& a, const cairn::PackIndex& b) {
  if (a.pack != b.pack || a.pack_size != b.pack_size || a.chunks.size() != b.chunks.size() ||
      a.recipes.size() != b.recipes.size()) {
    return false;
  }
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    const cairn::ChunkEntry& x = a.chunks[i];
    const cairn::ChunkEntry& y = b.chunks[i];
    if (x.oid != y.oid || x.offset != y.offset || x.stored != y.stored || x.raw != y.raw ||
        x.codec != y.codec) {
      return false;
    }
  }
  for (size_t i = 0; i < a.recipes.size(); ++i) {
    const cairn::Recipe& x = a.recipes[i];
    const cairn::Recipe& y = b.recipes[i];
    if (x.oid != y.oid || x.size != y.size || x.chunks != y.chunks) return false;
  }
  return true;
}

void Check(std::string_view data) {
  using namespace cairn;
  auto idx = PackIndex::Decode(data, "indexes/fuzz.idx");
  if (!idx.ok()) {
    FUZZ_CHECK(idx.status().code() == Code::kCorruption, fuzz::Describe(idx.status()));
    return;
  }
  FUZZ_CHECK(IsLowerHex64(idx->pack),
             "pack name is not 64 lowercase hex digits: '" + idx->pack + "'");
  for (size_t i = 0; i < idx->chunks.size(); ++i) {
    const ChunkEntry& e = idx->chunks[i];
    FUZZ_CHECK(e.offset >= kPackMagic.size(),
               "chunk " + std::to_string(i) + " starts inside the pack magic");
    FUZZ_CHECK(e.offset <= idx->pack_size && e.stored <= idx->pack_size - e.offset,
               "chunk " + std::to_string(i) + " (offset " + std::to_string(e.offset) + ", " +
                   std::to_string(e.stored) + " bytes) is outside its pack of " +
                   std::to_string(idx->pack_size));
  }
  std::string encoded = idx->Encode();
  auto again = PackIndex::Decode(encoded, "indexes/fuzz.idx");
  FUZZ_CHECK(again.ok(),
             "Encode of a decoded index does not decode: " + fuzz::Describe(again.status()));
  FUZZ_CHECK(Same(*again, *idx), "index changed in Encode -> Decode");
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
