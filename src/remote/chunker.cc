#include "remote/chunker.h"

#include <array>
#include <bit>

namespace cairn {
namespace {

// 256 pseudo-random 64-bit values from splitmix64 with a fixed seed: part of
// the format, so it is computed, not read from anywhere.
constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t state = 0x63616972'6e636463ull;  // "cairncdc"
  for (auto& g : gear) {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    g = z ^ (z >> 31);
  }
  return gear;
}

constexpr std::array<uint64_t, 256> kGear = MakeGear();

// The top `bits` bits: the gear hash shifts left one bit per byte, so the
// high bits mix the most recent 64 bytes.
constexpr uint64_t TopBits(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }

}  // namespace

Chunker::Chunker(ChunkParams params) : params_(params) {
  int bits = std::bit_width(params.avg_size) - 1;
  mask_small_ = TopBits(bits + 2);
  mask_large_ = TopBits(bits - 2);
}

size_t Chunker::Next(std::string_view data) const {
  size_t n = data.size();
  if (n <= params_.min_size) return n;
  if (n > params_.max_size) n = params_.max_size;
  size_t normal = params_.avg_size < n ? params_.avg_size : n;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint64_t hash = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    hash = (hash << 1) + kGear[p[i]];
    if ((hash & mask_small_) == 0) return i + 1;
  }
  for (; i < n; ++i) {
    hash = (hash << 1) + kGear[p[i]];
    if ((hash & mask_large_) == 0) return i + 1;
  }
  return n;
}

}  // namespace cairn
