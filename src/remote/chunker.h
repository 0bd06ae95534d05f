// Content-defined chunking (FastCDC with normalized chunking, Xia et al.,
// USENIX ATC 2016): cut points depend only on the bytes around them, so an
// insertion or edit moves only the chunks it touches and the rest of a file
// deduplicates against its previous version.
//
// The gear table and masks are part of the remote format: changing them
// changes every cut point. See doc/formats.md ("Remote format").
#ifndef CAIRN_REMOTE_CHUNKER_H_
#define CAIRN_REMOTE_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cairn {

struct ChunkParams {
  size_t min_size;
  size_t avg_size;  // a power of two
  size_t max_size;
};

// Sizes chosen by bench/chunk_sizes.py; see doc/formats.md.
inline constexpr ChunkParams kDefaultChunkParams = {16 << 10, 64 << 10, 256 << 10};

class Chunker {
 public:
  explicit Chunker(ChunkParams params = kDefaultChunkParams);

  // Length of the chunk that starts at data[0]: data.size() when fewer than
  // min_size bytes remain, else a cut in [min_size, max_size].
  size_t Next(std::string_view data) const;

  const ChunkParams& params() const { return params_; }

 private:
  ChunkParams params_;
  uint64_t mask_small_;  // more bits: cuts are rarer before avg_size
  uint64_t mask_large_;  // fewer bits: cuts are likelier after avg_size
};

}  // namespace cairn

#endif  // CAIRN_REMOTE_CHUNKER_H_
