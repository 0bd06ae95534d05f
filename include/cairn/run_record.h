// The sealed run record ("cairn-run 1", canonical JSON) and the metric
// history blob ("cairn-metrics 1", one point per line). See doc/formats.md.
#ifndef CAIRN_RUN_RECORD_H_
#define CAIRN_RUN_RECORD_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// Encodes `run` with its metric history oid (if any). Keys are sorted and
// whitespace is fixed, so equal runs give equal bytes.
std::string EncodeRunRecord(const RunInfo& run, const std::optional<Oid>& metric_history);
// Decodes a record; `where` names it in errors. Sets run->record to nothing:
// the caller knows the oid.
Result<RunInfo> DecodeRunRecord(std::string_view data, const std::string& where,
                                std::optional<Oid>* metric_history);

// Decodes the record that refs/runs/<id> names, as DecodeRunRecord does,
// and Corruption naming both ids when the record is another run's (its
// embedded id is not `id`): a ref, which may come from a remote, must not
// make one run's data overwrite another's.
Result<RunInfo> DecodeRunRecordOf(std::string_view data, const std::string& id,
                                  std::optional<Oid>* metric_history);

// Reads a run ref (refs/runs/<id>: "sha256:<hex>\n"): the record it names.
Result<Oid> ReadRunRef(const std::filesystem::path& path);

std::string EncodeMetricHistory(const std::vector<MetricPoint>& points);
Result<std::vector<MetricPoint>> DecodeMetricHistory(std::string_view data, const std::string& where);

// "nan", "inf", "-inf" or the shortest text that reads back to the same value.
std::string FormatMetricValue(double v);
// Parses a number, also accepting nan/inf/-inf/infinity (any case).
std::optional<double> ParseMetricValue(std::string_view text);

}  // namespace cairn

#endif  // CAIRN_RUN_RECORD_H_
