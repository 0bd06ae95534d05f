// Text for a terminal: control characters escaped (\n \r \t, others as
// \xHH), so that a value cannot move the cursor, recolour the screen or
// break the layout of a table.
#ifndef CAIRN_UTIL_ESCAPE_H_
#define CAIRN_UTIL_ESCAPE_H_

#include <string>
#include <string_view>

namespace cairn {

std::string EscapeControl(std::string_view text);

}  // namespace cairn

#endif  // CAIRN_UTIL_ESCAPE_H_
