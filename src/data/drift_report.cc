// The drift report's JSON (doc/json.md, "Drift report") and text.
#include <cmath>
#include <cstdio>

#include "cairn/drift.h"

namespace cairn {
namespace {

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string Format(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// "2 of 5 columns drifted (0.4 < share 0.5)".
std::string Tally(int64_t drifted, int64_t compared, double share, double threshold_share) {
  std::string out = std::to_string(drifted) + " of " + std::to_string(compared) + " column" +
                    (compared == 1 ? "" : "s") + " drifted";
  if (compared > 0) out += " (" + Format(share) + (share >= threshold_share ? " >= " : " < ") + "share " +
                           Format(threshold_share) + ")";
  return out;
}

}  // namespace

Json DriftJson(const DriftReport& report) {
  Json out = Json::object();
  out["reference"] = report.reference_label;
  out["current"] = report.current_label;
  out["method"] = DriftMethodName(report.method);
  out["threshold"] = report.threshold ? Json(*report.threshold) : Json(nullptr);
  out["share"] = report.share;
  out["compared_columns"] = report.compared_columns();
  out["drifted_columns"] = report.drifted_columns();
  out["drifted_share"] = report.drifted_share();
  out["drifted"] = report.drifted;
  Json files = Json::array();
  for (const FileDrift& f : report.files) {
    Json file = Json::object();
    file["path"] = f.path;
    file["reference"] = f.reference_where;
    file["current"] = f.current_where;
    file["reference_rows"] = f.reference_rows;
    file["current_rows"] = f.current_rows;
    file["compared_columns"] = f.columns.size();
    file["drifted_columns"] = f.drifted_columns();
    file["drifted_share"] = f.drifted_share();
    file["drifted"] = f.drifted;
    Json columns = Json::array();
    for (const ColumnDrift& c : f.columns) {
      Json col = Json::object();
      col["column"] = c.column;
      col["type"] = ColumnTypeName(c.type);
      col["method"] = DriftMethodName(c.method);
      col["statistic"] = Number(c.statistic);
      col["p_value"] = Number(c.p_value);
      col["threshold"] = c.threshold;
      col["drifted"] = c.drifted;
      if (c.method == DriftMethod::kKs) col["exact"] = c.exact;
      col["reference_values"] = c.reference_values;
      col["current_values"] = c.current_values;
      col["distinct_values"] = c.distinct_values;
      columns.push_back(std::move(col));
    }
    file["columns"] = std::move(columns);
    Json skipped = Json::array();
    for (const SkippedColumn& s : f.skipped) skipped.push_back(Json{{"column", s.column}, {"reason", s.reason}});
    file["skipped"] = std::move(skipped);
    files.push_back(std::move(file));
  }
  out["files"] = std::move(files);
  out["only_in_reference"] = report.only_in_reference;
  out["only_in_current"] = report.only_in_current;
  out["not_tabular"] = report.not_tabular;
  return out;
}

std::string DriftText(const DriftReport& report) {
  std::string out = "drift " + report.reference_label + " -> " + report.current_label + " (method " +
                    DriftMethodName(report.method) + ")\n";
  for (const FileDrift& f : report.files) {
    out += "\n" + f.path + ": " + std::to_string(f.reference_rows) + " -> " + std::to_string(f.current_rows) +
           " rows, " + Tally(f.drifted_columns(), static_cast<int64_t>(f.columns.size()), f.drifted_share(),
                             report.share) +
           "\n";
    if (!f.columns.empty()) {
      size_t width = 6;
      for (const ColumnDrift& c : f.columns) width = std::max(width, c.column.size());
      out += "  " + Pad("column", width) + "  " + Pad("type", 8) + Pad("method", 15) + Pad("statistic", 12) +
             Pad("p-value", 12) + Pad("threshold", 11) + "drift\n";
      for (const ColumnDrift& c : f.columns) {
        std::string statistic = std::isnan(c.statistic) && c.method == DriftMethod::kChiSquare ? "inf"
                                                                                              : Format(c.statistic);
        out += "  " + Pad(c.column, width) + "  " + Pad(ColumnTypeName(c.type), 8) +
               Pad(DriftMethodName(c.method), 15) + Pad(statistic, 12) + Pad(Format(c.p_value), 12) +
               Pad(Format(c.threshold), 11) + (c.drifted ? "DRIFT" : "no") + "\n";
      }
    }
    for (const SkippedColumn& s : f.skipped) out += "  skipped " + s.column + ": " + s.reason + "\n";
  }
  for (const std::string& p : report.only_in_reference) out += "only in " + report.reference_label + ": " + p + "\n";
  for (const std::string& p : report.only_in_current) out += "only in " + report.current_label + ": " + p + "\n";
  if (!report.not_tabular.empty()) {
    out += "not tabular (skipped): " + std::to_string(report.not_tabular.size()) + " file" +
           (report.not_tabular.size() == 1 ? "" : "s") + "\n";
  }
  out += "\n" + std::string(report.drifted ? "DATASET DRIFT: " : "no dataset drift: ") +
         Tally(report.drifted_columns(), report.compared_columns(), report.drifted_share(), report.share) + "\n";
  return out;
}

}  // namespace cairn
