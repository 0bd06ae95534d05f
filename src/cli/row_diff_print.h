// Text rendering of row diffs, shared by `cairn diff --rows` and `cairn delta`.
#ifndef CAIRN_CLI_ROW_DIFF_PRINT_H_
#define CAIRN_CLI_ROW_DIFF_PRINT_H_

#include <string>

#include "cairn/row_diff.h"

namespace cairn::cli {

// One table's changes; each line starts with `indent`. `stat`: counts only.
void PrintTable(const TableDiff& t, bool stat, const std::string& indent = "");
// Every table, then the other files, then a summary line.
void PrintRowDiff(const RowDiff& diff, bool stat);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_ROW_DIFF_PRINT_H_
