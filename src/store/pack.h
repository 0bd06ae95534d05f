// Local pack files: many small blobs appended to one file, plus a sorted
// index. See doc/formats.md ("Local pack", version 1).
//
//   pack-<id>.pack  "CAIRNPK1" then records: oid[32] length[u64 LE] bytes[length]
//   pack-<id>.idx   "CAIRNIX1" count[u64 LE] then count entries sorted by oid:
//                   oid[32] offset[u64 LE] length[u64 LE]; then sha256 of all before
//
// A pack is visible only once its .idx exists; the .idx is renamed into place
// after the .pack, so a reader never finds an index naming missing bytes.
#ifndef CAIRN_STORE_PACK_H_
#define CAIRN_STORE_PACK_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"
#include "util/file.h"

namespace cairn {

struct PackEntry {
  Oid oid;
  uint64_t offset = 0;  // of the object bytes (after the record header)
  uint64_t length = 0;
};

inline constexpr char kPackMagic[] = "CAIRNPK1";
inline constexpr char kIndexMagic[] = "CAIRNIX1";
inline constexpr size_t kPackRecordHeader = Oid::kSize + 8;

// Reads and checks a .idx file.
Result<std::vector<PackEntry>> ReadPackIndex(const std::filesystem::path& idx_path);
// Checks and decodes the bytes of a .idx file; `where` names it in errors.
// Corruption on a wrong magic, size or checksum.
Result<std::vector<PackEntry>> DecodePackIndex(std::string_view data, const std::string& where);

// Scans a .pack file's records, in file order (used to rebuild an index).
// Corruption when the pack is cut off or not a pack. With `damage`, a damaged
// tail is reported there instead, and the records before it are returned.
Result<std::vector<PackEntry>> ScanPack(const std::filesystem::path& pack_path, Status* damage = nullptr);

// Appends records to a new pack in a temp directory. Not thread-safe.
class PackWriter {
 public:
  static Result<PackWriter> Create(const std::filesystem::path& tmp_dir);
  PackWriter(PackWriter&&) = default;

  // Appends one record; returns its entry (offset of the bytes).
  Result<PackEntry> Append(const Oid& oid, std::string_view data);
  uint64_t size() const { return size_; }
  size_t count() const { return entries_.size(); }
  // Flushes buffered bytes so that pread() on the temp file sees them.
  Status Flush();
  const std::filesystem::path& temp_path() const { return tmp_->path(); }
  // Moves the pack into `packs_dir` and writes its index. Returns the final
  // .pack path. The caller makes it durable (syncfs).
  Result<std::filesystem::path> Finish(const std::filesystem::path& packs_dir,
                                       const std::filesystem::path& tmp_dir);

 private:
  explicit PackWriter(TempFile tmp) : tmp_(std::move(tmp)) {}
  std::optional<TempFile> tmp_;
  std::string buffer_;
  uint64_t size_ = 0;
  uint64_t flushed_ = 0;  // bytes written to the file so far
  std::vector<PackEntry> entries_;
};

}  // namespace cairn

#endif  // CAIRN_STORE_PACK_H_
