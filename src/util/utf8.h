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

// Decodes the UTF-8 sequence at text[i]: its length, with the code point in
// *cp, or 0 when the bytes there are not well-formed (an overlong form, a
// surrogate, a code point above U+10FFFF, a cut or stray byte).
inline size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t c = byte(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
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
    return 0;
  }
  if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  *cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    *cp = *cp << 6 | (byte(i + k) & 0x3F);
  }
  return n;
}

// The offset of the first character a YAML stream may not hold (YAML 1.2
// c-printable: tab, LF, CR, U+0020-U+007E, U+0085, U+00A0-U+D7FF,
// U+E000-U+FFFD, U+10000 and above) or of a byte that is not UTF-8;
// std::string_view::npos when there is none. yaml-cpp reads such text
// without complaint but does not write back what it read.
inline size_t FindNonYamlText(std::string_view text) {
  uint32_t cp = 0;  // read below even when DecodeUtf8 fails (n == 0)
  for (size_t i = 0; i < text.size();) {
    size_t n = DecodeUtf8(text, i, &cp);
    bool printable = cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
                     (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
    if (n == 0 || !printable) return i;
    i += n;
  }
  return std::string_view::npos;
}

// "<line>: byte 0xNN is not valid UTF-8" or "<line>: character U+NNNN is
// not allowed" for the offset FindNonYamlText returned, to follow "<file>:".
inline std::string NonYamlTextMessage(std::string_view text, size_t offset) {
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
  uint32_t cp;
  char what[48];
  if (DecodeUtf8(text, offset, &cp) == 0) {
    std::snprintf(what, sizeof what, "byte 0x%02X is not valid UTF-8",
                  static_cast<unsigned>(static_cast<uint8_t>(text[offset])));
  } else {
    std::snprintf(what, sizeof what, "character U+%04X is not allowed in YAML", static_cast<unsigned>(cp));
  }
  return std::to_string(line) + ": " + what;
}

}  // namespace cairn

#endif  // CAIRN_UTIL_UTF8_H_
