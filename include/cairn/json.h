// The JSON type every serializer in the library returns. Each domain has its
// serializers beside it (json_tracking.h, json_dataset.h, json_pipeline.h);
// the CLI's --json, the Python module's dicts and the HTTP server's bodies
// all come from them. Every shape is documented, with its version, in
// doc/json.md. The rule for versions: a change that removes or retypes a
// field, or changes its meaning, bumps the shape's version; adding a field
// does not.
#ifndef CAIRN_JSON_H_
#define CAIRN_JSON_H_

#include <nlohmann/json.hpp>

#include <string>

namespace cairn {

// Keys keep the order they were set in, so output reads like the doc.
using Json = nlohmann::ordered_json;

// The text of `j` (compact, or indented by `indent`). Bytes that are not
// UTF-8 (a file name, a cell) become U+FFFD instead of throwing: the one
// way every serializer, record and front end writes JSON.
template <typename J>
std::string DumpJson(const J& j, int indent = -1) {
  return j.dump(indent, ' ', false, J::error_handler_t::replace);
}

}  // namespace cairn

#endif  // CAIRN_JSON_H_
