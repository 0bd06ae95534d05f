// Internals of the table readers (cairn/table.h): where bytes come from, and
// the constructors of each format's reader.
#ifndef CAIRN_DATA_TABLE_INTERNAL_H_
#define CAIRN_DATA_TABLE_INTERNAL_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/status.h"
#include "cairn/table.h"

namespace cairn::table_internal {

// A forward-only stream of bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Opens the bytes from their start; called again to read them a second time.
using SourceOpener = std::function<Result<std::unique_ptr<ByteSource>>()>;

SourceOpener FileOpener(std::filesystem::path path, std::string where);
SourceOpener BytesOpener(std::string_view bytes);

Result<std::unique_ptr<TableReader>> OpenCsv(const SourceOpener& open, bool tsv, std::string where,
                                             const TableOptions& options);
Result<std::unique_ptr<TableReader>> OpenJsonLines(const SourceOpener& open, std::string where,
                                                   const TableOptions& options);
// Parquet needs a file path (DuckDB reads it itself).
Result<std::unique_ptr<TableReader>> OpenParquet(const std::filesystem::path& path, std::string where,
                                                 const TableOptions& options);

// Column names as the readers give them: empty ones become column_N,
// repeated ones NAME.1, NAME.2 …; InvalidArgument when a name is not UTF-8.
Status NameColumns(std::vector<std::string>* names, const std::string& where);

// InvalidArgument "WHERE:LINE: WHAT".
Status BadTable(const std::string& where, int64_t line, const std::string& what, const std::string& hint = {});

// `blob` when it is known, else the oid of the bytes of `file` (a workspace
// file not hashed yet); `where` names it in messages.
Result<Oid> ContentOid(const Oid& blob, const std::filesystem::path& file, const std::string& where);

// True when `s` is well-formed UTF-8 without NUL bytes; else the offset of
// the first bad byte in *bad.
bool CleanText(std::string_view s, size_t* bad);

}  // namespace cairn::table_internal

#endif  // CAIRN_DATA_TABLE_INTERNAL_H_
