// Remote pack files and their indexes (format: doc/formats.md, "Remote
// format"). A pack holds compressed chunks back to back; its index, uploaded
// after it, says where each chunk is and carries the recipes (blob → chunk
// list) of objects split into several chunks. An object stored as one chunk
// has no recipe: its chunk oid is its own oid.
#ifndef CAIRN_REMOTE_PACKFILE_H_
#define CAIRN_REMOTE_PACKFILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

inline constexpr std::string_view kPackMagic = "CAIRNPK1";
inline constexpr std::string_view kPackIndexHeader = "cairn-packidx 1\n";

enum class Codec : uint8_t { kRaw = 0, kZstd = 1 };

// The largest chunk any remote may declare (its 'cairn-remote' max): above
// the largest CAIRN_CHUNK_AVG bench/chunk_sizes.py measures (max = 4 * avg),
// far below what an index could claim (4 GiB per chunk).
inline constexpr uint64_t kMaxChunkSize = 16 << 20;
// The most bytes a chunk of `raw` bytes takes in a pack.
uint64_t MaxStoredSize(uint64_t raw);

struct ChunkEntry {
  Oid oid;           // sha256 of the uncompressed chunk
  uint64_t offset;   // in the pack
  uint32_t stored;   // bytes in the pack
  uint32_t raw;      // bytes after decompression
  Codec codec;
};

struct Recipe {
  Oid oid;                  // the object
  uint64_t size = 0;        // its length
  std::vector<Oid> chunks;  // in order
};

struct PackIndex {
  std::string pack;    // hex sha256 of the pack file (its name)
  uint64_t pack_size = 0;
  std::vector<ChunkEntry> chunks;  // sorted by offset
  std::vector<Recipe> recipes;

  std::string Encode() const;
  // Checks the trailing checksum and every field; `where` names it in errors.
  // No chunk may be longer than `max_chunk` bytes once decompressed (the
  // remote's chunking maximum), nor stored in more than a raw chunk or zstd's
  // bound for it: readers allocate these lengths.
  static Result<PackIndex> Decode(std::string_view data, const std::string& where,
                                  uint64_t max_chunk = kMaxChunkSize);
};

// Compresses `raw` with zstd unless that saves less than 1/32 of it
// (already-compressed data such as JPEG or Parquet); appends the stored form
// to `out` and returns the codec used.
Codec CompressChunk(std::string_view raw, std::string* out);
// Decompresses one stored chunk and checks its length and its oid.
Result<std::string> DecompressChunk(std::string_view stored, const ChunkEntry& entry, const std::string& where);

// Builds one pack in memory.
class PackBuilder {
 public:
  PackBuilder() { data_.assign(kPackMagic); }
  // Appends a chunk already compressed with CompressChunk.
  void AddChunk(const Oid& oid, std::string_view stored, uint32_t raw, Codec codec);
  void AddRecipe(Recipe recipe) { index_.recipes.push_back(std::move(recipe)); }
  size_t size() const { return data_.size(); }
  bool empty() const { return index_.chunks.empty() && index_.recipes.empty(); }
  // Names the pack by its hash and returns (pack bytes, index). The builder
  // is left empty.
  void Finish(std::string* pack, PackIndex* index);

 private:
  std::string data_;
  PackIndex index_;
};

// Everything the remote's indexes say: where each chunk is, and the recipes.
class RemoteIndex {
 public:
  struct Location {
    uint32_t pack;  // position in packs()
    ChunkEntry entry;
  };

  void Add(const PackIndex& index);
  const std::vector<std::string>& packs() const { return packs_; }
  const Location* FindChunk(const Oid& oid) const;
  const Recipe* FindRecipe(const Oid& oid) const;
  // True when the object is stored: as one chunk, or by a recipe whose
  // chunks are all present.
  bool HasObject(const Oid& oid) const;
  // The chunks of a stored object, in order; NotFound when it is not stored.
  Result<std::vector<const Location*>> ObjectChunks(const Oid& oid) const;
  size_t chunk_count() const { return chunks_.size(); }

 private:
  std::vector<std::string> packs_;
  std::unordered_map<Oid, Location, OidHash> chunks_;
  std::unordered_map<Oid, Recipe, OidHash> recipes_;
};

}  // namespace cairn

#endif  // CAIRN_REMOTE_PACKFILE_H_
