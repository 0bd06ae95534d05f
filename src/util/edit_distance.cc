#include "util/edit_distance.h"

#include <algorithm>
#include <vector>

namespace cairn {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string NearestName(const std::vector<std::string>& names, std::string_view typed) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& name : names) {
    size_t d = EditDistance(typed, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  return best;
}

}  // namespace cairn
