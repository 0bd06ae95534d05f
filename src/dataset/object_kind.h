// What gc and fsck need to know of an object without decoding it.
#ifndef CAIRN_DATASET_OBJECT_KIND_H_
#define CAIRN_DATASET_OBJECT_KIND_H_

#include <string_view>

#include "cairn/object.h"

namespace cairn {

// Tells a version from a tree or blob by the first bytes of its encoding.
enum class StoredKind { kBlob, kTree, kVersion };

inline StoredKind ClassifyObject(std::string_view head) {
  if (head.starts_with(kVersionHeader)) return StoredKind::kVersion;
  if (head.starts_with(kTreeHeader)) return StoredKind::kTree;
  return StoredKind::kBlob;
}

}  // namespace cairn

#endif  // CAIRN_DATASET_OBJECT_KIND_H_
