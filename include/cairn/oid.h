// Object ids: SHA-256 digests, written "sha256:<64 lowercase hex>".
//
// A blob's oid is the SHA-256 of its raw bytes, the same value `sha256sum`,
// git-lfs and the Hugging Face Hub report for the file.
#ifndef CAIRN_OID_H_
#define CAIRN_OID_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "cairn/status.h"

namespace cairn {

class Oid {
 public:
  static constexpr size_t kSize = 32;
  static constexpr std::string_view kPrefix = "sha256:";

  Oid() { bytes_.fill(0); }
  explicit Oid(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // Parses "sha256:<64 hex>" or bare 64 hex digits.
  static Result<Oid> Parse(std::string_view text);
  // SHA-256 of `data`.
  static Oid Of(std::string_view data);

  bool IsZero() const;
  std::string Hex() const;                          // 64 hex digits
  std::string ToString() const { return std::string(kPrefix) + Hex(); }
  std::string Short() const { return Hex().substr(0, 12); }
  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  uint8_t* data() { return bytes_.data(); }

  friend bool operator==(const Oid& a, const Oid& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const Oid& a, const Oid& b) { return !(a == b); }
  friend bool operator<(const Oid& a, const Oid& b) { return a.bytes_ < b.bytes_; }

 private:
  std::array<uint8_t, kSize> bytes_;
};

struct OidHash {
  size_t operator()(const Oid& oid) const {
    size_t h;
    std::memcpy(&h, oid.bytes().data(), sizeof h);  // already uniformly distributed
    return h;
  }
};

// True when `text` is 1..64 lowercase/uppercase hex digits.
bool IsHexPrefix(std::string_view text);

}  // namespace cairn

#endif  // CAIRN_OID_H_
