// The forms of a validation report: JSON (doc/json.md, "Validation
// report"), text for a terminal, JUnit XML for CI, and the one-line-per-
// failure summary a refused pipeline stage prints.
#include <cmath>
#include <cstdio>

#include "cairn/validate.h"
#include "util/utf8.h"

namespace cairn {
namespace {

Json Statistics(const ValidationStatistics& s) {
  return Json{{"evaluated_expectations", s.evaluated},
              {"successful_expectations", s.successful},
              {"unsuccessful_expectations", s.unsuccessful},
              {"success_percent", s.success_percent()}};
}

Json Optional(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%%", v);
  return buf;
}

std::string Shown(const Json& v) {
  if (v.is_null()) return "(missing)";
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  return DumpJson(v);
}

// "expect_column_values_to_be_between(bmi)", with the columns it is about.
std::string Title(const Expectation& e) {
  std::string out = ExpectationTypeName(e.type);
  if (!e.column.empty()) return out + "(" + e.column + ")";
  if (!e.columns.empty() && e.type == ExpectationType::kCompoundUnique) {
    std::string list;
    for (const std::string& c : e.columns) list += (list.empty() ? "" : ", ") + c;
    return out + "(" + list + ")";
  }
  return out;
}

bool Passed(const ExpectationResult& r) { return r.success && r.exception.empty(); }

// What an expectation found, in a sentence: "3 unexpected of 97 values
// (3.093%), e.g. '72.1' (row 5)", "observed 41.2", "150 rows".
std::string Summary(const ExpectationResult& r, bool with_examples) {
  if (!r.exception.empty()) return r.exception;
  const Expectation& e = *r.expectation;
  std::string out;
  if (r.counts) {
    int64_t evaluated = e.type == ExpectationType::kNotNull ? r.element_count
                                                            : r.element_count - r.missing_count.value_or(0);
    out = std::to_string(r.unexpected_count) + " unexpected of " + std::to_string(evaluated) +
          (e.type == ExpectationType::kNotNull ? " rows" : " values");
    if (r.unexpected_percent) out += " (" + Percent(*r.unexpected_percent) + ")";
    if (e.mostly) out += ", mostly " + DumpJson(Json(*e.mostly));
    if (e.type == ExpectationType::kOfType) out += ", column type " + r.observed_value.get<std::string>();
    if (with_examples && !r.partial_unexpected.empty()) {
      out += ": ";
      size_t shown = std::min<size_t>(r.partial_unexpected.size(), 5);
      for (size_t i = 0; i < shown; ++i) {
        const UnexpectedValue& u = r.partial_unexpected[i];
        out += (i ? ", " : "") + Shown(u.value) + " (row " + std::to_string(u.row) + ")";
      }
      if (r.unexpected_count > static_cast<int64_t>(shown)) out += ", …";
    }
    return out;
  }
  if (e.type == ExpectationType::kRowCount) return std::to_string(r.element_count) + " rows";
  if (e.type == ExpectationType::kColumnsOrdered || e.type == ExpectationType::kColumnsSet) {
    if (r.details.is_null()) return "columns match";
    if (e.type == ExpectationType::kColumnsSet) {
      const Json& m = r.details["mismatched"];
      std::string s;
      if (m.contains("missing")) {
        s += "missing:";
        for (const auto& c : m["missing"]) s += " " + c.get<std::string>();
      }
      if (m.contains("unexpected")) {
        s += std::string(s.empty() ? "" : "; ") + "unexpected:";
        for (const auto& c : m["unexpected"]) s += " " + c.get<std::string>();
      }
      return s;
    }
    std::string s;
    for (const auto& m : r.details["mismatched"]) {
      s += std::string(s.empty() ? "" : "; ") + "position " + DumpJson(m["Expected Column Position"]) + ": expected " +
           (m["Expected"].is_null() ? "nothing" : m["Expected"].get<std::string>()) + ", found " +
           (m["Found"].is_null() ? "nothing" : m["Found"].get<std::string>());
    }
    return s;
  }
  if (r.observed_value.is_null()) return "observed nothing (no values)";
  if (r.observed_value.is_string()) return "observed " + r.observed_value.get<std::string>();  // inf, -inf, nan
  return "observed " + DumpJson(r.observed_value);
}

// Text for XML content and attributes: the special characters as entities,
// line breaks as references, other control characters dropped, bytes that
// are not UTF-8 as U+FFFD (XML must be well-formed Unicode).
std::string Xml(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      uint32_t cp = 0;
      size_t n = DecodeUtf8(text, i, &cp);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(text, i, n);
        i += n - 1;
      }
      continue;
    }
    if (ch == '&') {
      out += "&amp;";
    } else if (ch == '<') {
      out += "&lt;";
    } else if (ch == '>') {
      out += "&gt;";
    } else if (ch == '"') {
      out += "&quot;";
    } else if (ch == '\'') {
      out += "&apos;";
    } else if (ch == '\n') {
      out += "&#10;";
    } else if (ch == '\t') {
      out += "&#9;";
    } else if (c < 0x20) {
      continue;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string SuiteLine(const ValidationReport& report, const Expectation& e) {
  return report.suite ? report.suite->file + ":" + std::to_string(e.line) : "line " + std::to_string(e.line);
}

}  // namespace

Json FileValidationJson(const FileValidation& file) {
  Json out = Json::object();
  out["path"] = file.path;
  out["where"] = file.where;
  out["blob"] = file.blob.IsZero() ? Json(nullptr) : Json(file.blob.ToString());
  out["object"] = file.object.IsZero() ? Json(nullptr) : Json(file.object.ToString());
  out["rows"] = file.rows;
  out["columns"] = file.columns;
  out["success"] = file.success();
  out["statistics"] = Statistics(file.statistics);
  Json results = Json::array();
  for (const ExpectationResult& r : file.results) {
    const Expectation& e = *r.expectation;
    Json item = Json::object();
    item["success"] = Passed(r);
    item["expectation_config"] =
        Json{{"expectation_type", ExpectationTypeName(e.type)}, {"kwargs", e.kwargs}, {"meta", e.meta}};
    item["suite_line"] = e.line;
    Json result = Json::object();
    if (!r.observed_value.is_null() || !r.counts) result["observed_value"] = r.observed_value;
    result["element_count"] = r.element_count;
    if (r.missing_count) {
      result["missing_count"] = *r.missing_count;
      result["missing_percent"] = r.element_count > 0 ? Json(100.0 * static_cast<double>(*r.missing_count) /
                                                             static_cast<double>(r.element_count))
                                                      : Json(nullptr);
    }
    if (r.counts) {
      result["unexpected_count"] = r.unexpected_count;
      result["unexpected_percent"] = Optional(r.unexpected_percent);
      result["unexpected_percent_total"] = Optional(r.unexpected_percent_total);
      Json values = Json::array(), rows = Json::array(), lines = Json::array();
      for (const UnexpectedValue& u : r.partial_unexpected) {
        values.push_back(u.value);
        rows.push_back(u.row);
        lines.push_back(u.line);
      }
      result["partial_unexpected_list"] = std::move(values);
      result["partial_unexpected_rows"] = std::move(rows);
      result["partial_unexpected_lines"] = std::move(lines);
    }
    if (!r.details.is_null()) result["details"] = r.details;
    item["result"] = std::move(result);
    item["exception_info"] = Json{{"raised_exception", !r.exception.empty()},
                                  {"exception_message", r.exception.empty() ? Json(nullptr) : Json(r.exception)}};
    results.push_back(std::move(item));
  }
  out["results"] = std::move(results);
  return out;
}

Json ValidationJson(const ValidationReport& report) {
  Json out = Json::object();
  out["ref"] = report.label;
  out["dataset"] = report.dataset.empty() ? Json(nullptr) : Json(report.dataset);
  out["version"] = report.version.IsZero() ? Json(nullptr) : Json(report.version.ToString());
  if (report.suite) {
    out["suite"] = Json{{"name", report.suite->name},
                        {"file", report.suite->file},
                        {"digest", report.suite->Digest()},
                        {"expectations", report.suite->expectations.size()}};
  }
  out["success"] = report.success();
  out["statistics"] = Statistics(report.statistics);
  Json files = Json::array();
  for (const FileValidation& f : report.files) files.push_back(FileValidationJson(f));
  out["files"] = std::move(files);
  out["not_tabular"] = report.not_tabular;
  return out;
}

std::string ValidationText(const ValidationReport& report) {
  std::string out = "validate " + report.label;
  if (report.suite) {
    out += " with " + report.suite->file + " (" + std::to_string(report.suite->expectations.size()) +
           " expectation" + (report.suite->expectations.size() == 1 ? "" : "s") + ")";
  }
  out += "\n";
  for (const FileValidation& f : report.files) {
    out += "\n" + f.path + " (" + std::to_string(f.rows) + " rows): " + std::to_string(f.statistics.successful) +
           " of " + std::to_string(f.statistics.evaluated) + " expectations passed\n";
    for (const ExpectationResult& r : f.results) {
      out += std::string(Passed(r) ? "  PASS  " : "  FAIL  ") + Title(*r.expectation) + ": " + Summary(r, true) + "\n";
    }
  }
  if (!report.not_tabular.empty()) {
    out += "\nnot tabular (skipped): ";
    for (size_t i = 0; i < report.not_tabular.size(); ++i) out += (i ? ", " : "") + report.not_tabular[i];
    out += "\n";
  }
  const ValidationStatistics& s = report.statistics;
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.4g%%", s.success_percent());
  out += "\n" + std::string(report.success() ? "PASSED" : "FAILED") + ": " + std::to_string(s.successful) + " of " +
         std::to_string(s.evaluated) + " expectations passed (" + pct + ")\n";
  return out;
}

std::string ValidationJUnit(const ValidationReport& report) {
  const ValidationStatistics& s = report.statistics;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"" + Xml("cairn validate " + report.label) + "\" tests=\"" + std::to_string(s.evaluated) +
         "\" failures=\"" + std::to_string(s.unsuccessful) + "\" errors=\"0\">\n";
  for (const FileValidation& f : report.files) {
    out += "  <testsuite name=\"" + Xml(f.where) + "\" tests=\"" + std::to_string(f.statistics.evaluated) +
           "\" failures=\"" + std::to_string(f.statistics.unsuccessful) + "\" errors=\"0\" skipped=\"0\">\n";
    for (const ExpectationResult& r : f.results) {
      const Expectation& e = *r.expectation;
      std::string name = Title(e) + " (" + SuiteLine(report, e) + ")";
      out += "    <testcase classname=\"" + Xml("cairn.validate." + f.path) + "\" name=\"" + Xml(name) +
             "\" time=\"0\">\n";
      std::string summary = Summary(r, false);
      if (Passed(r)) {
        out += "      <system-out>" + Xml(summary) + "</system-out>\n";
      } else {
        std::string body = Summary(r, true);
        if (!r.partial_unexpected.empty()) {
          body += "\nrows:";
          for (const UnexpectedValue& u : r.partial_unexpected) body += " " + std::to_string(u.row);
        }
        out += "      <failure message=\"" + Xml(summary) + "\" type=\"" + Xml(ExpectationTypeName(e.type)) + "\">" +
               Xml(body) + "</failure>\n";
      }
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

std::string ValidationFailures(const ValidationReport& report) {
  std::string out;
  for (const FileValidation& f : report.files) {
    for (const ExpectationResult& r : f.results) {
      if (Passed(r)) continue;
      out += f.path + ": " + Title(*r.expectation) + ": " + Summary(r, false);
      if (!r.partial_unexpected.empty()) {
        out += r.partial_unexpected.size() == 1 ? ", row" : ", rows";
        size_t shown = std::min<size_t>(r.partial_unexpected.size(), 10);
        for (size_t i = 0; i < shown; ++i) out += (i ? ", " : " ") + std::to_string(r.partial_unexpected[i].row);
        if (r.unexpected_count > static_cast<int64_t>(shown)) out += ", …";
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace cairn
