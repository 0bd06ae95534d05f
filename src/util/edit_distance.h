// Levenshtein distance between two strings, for "did you mean" hints (the
// CLI's mistyped commands, the registry's unknown models and artifacts).
#ifndef CAIRN_UTIL_EDIT_DISTANCE_H_
#define CAIRN_UTIL_EDIT_DISTANCE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

// Insertions, deletions and substitutions (of bytes) turning `a` into `b`.
size_t EditDistance(std::string_view a, std::string_view b);

// The first of `names` closest to `typed` when at most two edits away, else
// "" (too far to be a typo of it).
std::string NearestName(const std::vector<std::string>& names, std::string_view typed);

}  // namespace cairn

#endif  // CAIRN_UTIL_EDIT_DISTANCE_H_
