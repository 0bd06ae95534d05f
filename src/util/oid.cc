#include "cairn/oid.h"

#include "util/sha256.h"

namespace cairn {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsHexPrefix(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

Result<Oid> Oid::Parse(std::string_view text) {
  std::string_view hex = text;
  if (hex.substr(0, kPrefix.size()) == kPrefix) hex.remove_prefix(kPrefix.size());
  std::array<uint8_t, kSize> bytes;
  bool ok = hex.size() == 2 * kSize;
  for (size_t i = 0; ok && i < kSize; ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) return Status::InvalidArgument("not a sha256 object id: '" + std::string(text) + "'");
  return Oid(bytes);
}

Oid Oid::Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

bool Oid::IsZero() const {
  for (uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

std::string Oid::Hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * kSize, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kDigits[bytes_[i] >> 4];
    out[2 * i + 1] = kDigits[bytes_[i] & 0xf];
  }
  return out;
}

}  // namespace cairn
