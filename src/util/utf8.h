// UTF-8 validation for text formats that must be Unicode (YAML).
#ifndef CAIRN_UTIL_UTF8_H_
#define CAIRN_UTIL_UTF8_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace cairn {

// The offset of the first byte that does not start a well-formed UTF-8
// sequence (no overlong forms, surrogates or code points above U+10FFFF),
// or std::string_view::npos when all of `text` is well-formed.
inline size_t FindInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    uint8_t c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return i;
    for (size_t k = 2; k < n; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

// "<line>: byte 0xNN is not valid UTF-8" for the byte at `offset` (from
// FindInvalidUtf8), to follow "<file>:" in a message.
inline std::string InvalidUtf8Message(std::string_view text, size_t offset) {
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X",
                static_cast<unsigned>(static_cast<uint8_t>(text[offset])));
  return std::to_string(line) + ": byte " + byte + " is not valid UTF-8";
}

}  // namespace cairn

#endif  // CAIRN_UTIL_UTF8_H_
