// Schema inference over a sample of a table's rows (signature_infer.h).
#include "registry/signature_infer.h"

#include <vector>

namespace cairn::signature_internal {

Result<InferredSchema> InferTable(TableReader& reader, std::string source, const InferOptions& options) {
  const std::vector<std::string>& names = reader.columns();
  std::vector<ColumnType> types(names.size(), ColumnType::kUnknown);
  InferredSchema out;
  out.values.assign(names.size(), 0);
  TableBatch batch;
  while (out.complete) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    for (size_t r = 0; r < batch.rows; ++r) {
      if (out.rows >= options.sample_rows) {
        out.complete = false;
        break;
      }
      for (size_t c = 0; c < batch.width; ++c) {
        const TableCell& cell = batch.cell(r, c);
        ColumnType type = cell.missing ? ColumnType::kUnknown : CellType(cell.text);
        types[c] = MergeColumnTypes(types[c], type);
        out.values[c] += type != ColumnType::kUnknown;
      }
      ++out.rows;
    }
  }
  out.signature.source = std::move(source);
  for (size_t c = 0; c < names.size(); ++c) {
    ColumnType type = types[c] == ColumnType::kUnknown ? ColumnType::kString : types[c];  // values[c] is 0
    out.signature.columns.push_back(SignatureColumn{names[c], ColumnTypeName(type)});
  }
  return out;
}

}  // namespace cairn::signature_internal
