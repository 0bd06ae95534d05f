// Pointer files: "<path>.cairn", committed to git, naming the dataset version
// whose bytes belong at <path>. Format documented in doc/formats.md.
#ifndef CAIRN_POINTER_H_
#define CAIRN_POINTER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/object.h"
#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

inline constexpr std::string_view kPointerSuffix = ".cairn";
inline constexpr int kPointerFormat = 1;

// True when `path` ends in ".cairn" after at least one other character.
inline bool HasPointerSuffix(std::string_view path) {
  return path.size() > kPointerSuffix.size() && path.substr(path.size() - kPointerSuffix.size()) == kPointerSuffix;
}

struct Pointer {
  std::string dataset;
  Oid version;
  ObjectKind kind = ObjectKind::kTree;
  Oid object;
  uint64_t size = 0;
  uint64_t files = 0;

  std::string Encode() const;
  // Parses and validates a pointer. `where` names the file in messages.
  // Corruption on a truncated or malformed file, an unknown format version, or
  // a dataset name that points outside the repository.
  static Result<Pointer> Decode(std::string_view data, const std::string& where);
};

}  // namespace cairn

#endif  // CAIRN_POINTER_H_
