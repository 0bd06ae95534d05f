// A guard against YAML that expands without bound: aliases to anchors that
// hold aliases ("billion laughs": 600 bytes that stand for 10^8 nodes).
// yaml-cpp shares an aliased node, so loading is cheap, but every walk over
// the document (ours) visits the expansion. Run before YAML::Load.
#ifndef CAIRN_UTIL_YAML_GUARD_H_
#define CAIRN_UTIL_YAML_GUARD_H_

#include <cstdint>
#include <string>

#include "cairn/status.h"

namespace cairn {

inline constexpr uint64_t kMaxYamlNodes = 1'000'000;

// InvalidArgument "FILE:LINE:COLUMN: ..." at the alias that takes the
// expanded document past `limit` nodes; OK otherwise, and for text that is
// not YAML (YAML::Load reports that, with its position).
Status CheckYamlExpansion(const std::string& text, const std::string& file, uint64_t limit = kMaxYamlNodes);

}  // namespace cairn

#endif  // CAIRN_UTIL_YAML_GUARD_H_
