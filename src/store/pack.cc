#include "store/pack.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "util/sha256.h"

namespace cairn {
namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

Oid GetOid(const char* p) {
  std::array<uint8_t, Oid::kSize> b;
  std::memcpy(b.data(), p, Oid::kSize);
  return Oid(b);
}

constexpr size_t kIndexEntry = Oid::kSize + 16;

}  // namespace

Result<std::vector<PackEntry>> ReadPackIndex(const std::filesystem::path& idx_path) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(idx_path));
  return DecodePackIndex(data, idx_path.string());
}

Result<std::vector<PackEntry>> DecodePackIndex(std::string_view data, const std::string& where) {
  if (data.size() < 16 + Oid::kSize || data.substr(0, 8) != std::string_view(kIndexMagic, 8)) {
    return Status::Corruption(where + ": not a cairn pack index");
  }
  uint64_t count = GetU64(data.data() + 8);
  if (count > (data.size() - 16) / kIndexEntry || 16 + count * kIndexEntry + Oid::kSize != data.size()) {
    return Status::Corruption(where + ": pack index has the wrong size");
  }
  size_t body = data.size() - Oid::kSize;
  if (Oid::Of(std::string_view(data.data(), body)) != GetOid(data.data() + body)) {
    return Status::Corruption(where + ": pack index checksum mismatch");
  }
  std::vector<PackEntry> out(count);
  const char* p = data.data() + 16;
  for (uint64_t i = 0; i < count; ++i, p += kIndexEntry) {
    out[i].oid = GetOid(p);
    out[i].offset = GetU64(p + Oid::kSize);
    out[i].length = GetU64(p + Oid::kSize + 8);
    // The checksum proves the bytes are intact, not that they make sense:
    // the store binary-searches the entries and reads offset..offset+length.
    if (i > 0 && !(out[i - 1].oid < out[i].oid)) {
      return Status::Corruption(where + ": pack index entries are not sorted (or repeat) at entry " +
                                std::to_string(i));
    }
    if (out[i].offset < 8 + kPackRecordHeader || out[i].length > UINT64_MAX - out[i].offset) {
      return Status::Corruption(where + ": pack index entry " + std::to_string(i) + " points outside its pack");
    }
  }
  return out;
}

Result<std::vector<PackEntry>> ScanPack(const std::filesystem::path& pack_path, Status* damage) {
  CAIRN_ASSIGN_OR_RETURN(Fd fd, OpenRead(pack_path));
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(pack_path, ec);
  if (ec) return Status::FromErrno("cannot stat " + pack_path.string(), ec.value());
  char header[kPackRecordHeader];
  if (size < 8) return Status::Corruption(pack_path.string() + ": not a cairn pack");
  CAIRN_RETURN_IF_ERROR(PreadAll(fd.get(), header, 8, 0, pack_path));
  if (std::memcmp(header, kPackMagic, 8) != 0) {
    Status s = Status::Corruption(pack_path.string() + ": not a cairn pack (bad header)");
    if (damage == nullptr) return s;
    *damage = s;  // salvage: the records after it may be intact (their oids tell)
  }
  std::vector<PackEntry> out;
  uint64_t pos = 8;
  auto truncated = [&](uint64_t at) -> Status {
    Status s = Status::Corruption(pack_path.string() + ": truncated record at offset " + std::to_string(at));
    if (damage == nullptr) return s;
    *damage = s;
    return Status::OK();
  };
  while (pos < size) {
    if (size - pos < kPackRecordHeader) {
      CAIRN_RETURN_IF_ERROR(truncated(pos));
      break;
    }
    CAIRN_RETURN_IF_ERROR(PreadAll(fd.get(), header, kPackRecordHeader, static_cast<off_t>(pos), pack_path));
    PackEntry e{GetOid(header), pos + kPackRecordHeader, GetU64(header + Oid::kSize)};
    if (e.length > size - e.offset) {
      CAIRN_RETURN_IF_ERROR(truncated(pos));
      break;
    }
    out.push_back(e);
    pos = e.offset + e.length;
  }
  return out;
}

Result<PackWriter> PackWriter::Create(const std::filesystem::path& tmp_dir) {
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(tmp_dir, "pack"));
  PackWriter w(std::move(tmp));
  w.buffer_.assign(kPackMagic, 8);
  w.size_ = 8;
  return w;
}

Result<PackEntry> PackWriter::Append(const Oid& oid, std::string_view data) {
  buffer_.append(reinterpret_cast<const char*>(oid.bytes().data()), Oid::kSize);
  PutU64(&buffer_, data.size());
  buffer_.append(data);
  PackEntry e{oid, size_ + kPackRecordHeader, data.size()};
  size_ += kPackRecordHeader + data.size();
  entries_.push_back(e);
  if (buffer_.size() >= (4u << 20)) CAIRN_RETURN_IF_ERROR(Flush());
  return e;
}

Status PackWriter::Flush() {
  if (buffer_.empty()) return Status::OK();
  CAIRN_RETURN_IF_ERROR(tmp_->Write(buffer_));
  // Start writeback now (without waiting), so the command's final sync finds
  // most of the pack already on disk instead of all of it.
  ::sync_file_range(tmp_->fd(), static_cast<off64_t>(flushed_), static_cast<off64_t>(buffer_.size()),
                    SYNC_FILE_RANGE_WRITE);
  flushed_ += buffer_.size();
  buffer_.clear();
  return Status::OK();
}

Result<std::filesystem::path> PackWriter::Finish(const std::filesystem::path& packs_dir,
                                                 const std::filesystem::path& tmp_dir) {
  CAIRN_RETURN_IF_ERROR(Flush());
  std::vector<PackEntry> sorted = entries_;
  std::sort(sorted.begin(), sorted.end(),
            [](const PackEntry& a, const PackEntry& b) { return a.oid < b.oid; });
  std::string idx(kIndexMagic, 8);
  PutU64(&idx, sorted.size());
  for (const PackEntry& e : sorted) {
    idx.append(reinterpret_cast<const char*>(e.oid.bytes().data()), Oid::kSize);
    PutU64(&idx, e.offset);
    PutU64(&idx, e.length);
  }
  Oid sum = Oid::Of(idx);
  idx.append(reinterpret_cast<const char*>(sum.bytes().data()), Oid::kSize);

  std::string name = "pack-" + sum.Hex().substr(0, 32);
  std::filesystem::path pack_path = packs_dir / (name + ".pack");
  // The pack is made durable before its index can name it.
  CAIRN_RETURN_IF_ERROR(tmp_->Commit(pack_path, /*sync=*/true));
  CAIRN_ASSIGN_OR_RETURN(TempFile idx_tmp, TempFile::Create(tmp_dir, "idx"));
  CAIRN_RETURN_IF_ERROR(idx_tmp.Write(idx));
  CAIRN_RETURN_IF_ERROR(idx_tmp.Commit(packs_dir / (name + ".idx"), /*sync=*/false));
  return pack_path;
}

}  // namespace cairn
