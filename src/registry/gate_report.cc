// A gate report in the four forms `cairn gate --format` prints: JSON
// (doc/json.md, "Gate report"), text for a terminal, JUnit XML for CI test
// reports and Markdown for a pull-request comment.
#include <algorithm>
#include <string>

#include "cairn/gate.h"

namespace cairn {
namespace {

std::string Subject(const GateReport& report) {
  std::string out = report.model + "@" + std::to_string(report.version);
  if (!report.target_alias.empty()) out += " to " + report.target_alias;
  return out;
}

size_t Failures(const GateReport& report) {
  size_t n = 0;
  for (const GateRuleResult& r : report.rules) n += r.outcome == GateOutcome::kFail;
  return n;
}

// Text for XML content and attribute values: the five special characters
// as entities, line breaks kept as character references (attribute values
// would fold them into spaces), and characters XML 1.0 forbids (controls
// other than tab and line breaks) as U+FFFD.
std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\xEF\xBF\xBD";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

// A Markdown table cell: pipes escaped, line breaks as spaces.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// Inline code that holds backticks: a fence longer than any run inside.
std::string InlineCode(const std::string& text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(longest + 1, '`');
  bool pad = !text.empty() && (text.front() == '`' || text.back() == '`');
  return fence + (pad ? " " : "") + Cell(text) + (pad ? " " : "") + fence;
}

std::string Observed(const GateRuleResult& rule) {
  std::string out;
  for (const GateObservation& o : rule.observations) {
    out += (out.empty() ? "" : "; ") + o.operand + " " + o.observed;
  }
  return out;
}

}  // namespace

Json GateReportJson(const GateReport& report) {
  Json out = Json::object();
  out["model"] = report.model;
  out["version"] = report.version;
  out["target_alias"] = report.target_alias.empty() ? Json(nullptr) : Json(report.target_alias);
  out["passed"] = report.passed();
  out["failed"] = Failures(report);
  Json rules = Json::array();
  for (const GateRuleResult& r : report.rules) {
    Json rule = Json::object();
    rule["rule"] = r.rule;
    rule["kind"] = r.kind;
    rule["outcome"] = GateOutcomeName(r.outcome);
    rule["summary"] = r.summary;
    rule["line"] = r.line;
    Json observations = Json::array();
    for (const GateObservation& o : r.observations) {
      observations.push_back(Json{{"operand", o.operand}, {"observed", o.observed}});
    }
    rule["observations"] = std::move(observations);
    rules.push_back(std::move(rule));
  }
  out["rules"] = std::move(rules);
  out["warnings"] = report.warnings;
  out["audit_entry"] = report.audit_entry.empty() ? Json(nullptr) : Json(report.audit_entry);
  return out;
}

std::string GateReportText(const GateReport& report) {
  std::string out = "gate " + Subject(report) + ": ";
  size_t failed = Failures(report);
  if (report.rules.empty()) {
    out += "PASS (no gates declared in cairn.yaml)\n";
    return out;
  }
  out += report.passed() ? "PASS" : "FAIL";
  out += " (" + std::to_string(report.rules.size() - failed) + " of " + std::to_string(report.rules.size()) +
         " rules passed)\n";
  for (const GateRuleResult& r : report.rules) out += "  " + r.summary + "\n";
  return out;
}

std::string GateReportJUnit(const GateReport& report) {
  std::string tests = std::to_string(report.rules.size());
  std::string failures = std::to_string(Failures(report));
  std::string suite = "cairn gate " + Subject(report);
  std::string classname = "cairn.gate." + report.model;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"cairn gate\" tests=\"" + tests + "\" failures=\"" + failures + "\" errors=\"0\">\n";
  out += "  <testsuite name=\"" + XmlEscape(suite) + "\" tests=\"" + tests + "\" failures=\"" + failures +
         "\" errors=\"0\" skipped=\"0\">\n";
  for (const GateRuleResult& r : report.rules) {
    std::string name = r.rule + (r.line > 0 ? " (cairn.yaml:" + std::to_string(r.line) + ")" : "");
    out += "    <testcase classname=\"" + XmlEscape(classname) + "\" name=\"" + XmlEscape(name) + "\" time=\"0\"";
    if (r.outcome == GateOutcome::kPass) {
      out += ">\n      <system-out>" + XmlEscape(r.summary) + "</system-out>\n    </testcase>\n";
      continue;
    }
    out += ">\n      <failure message=\"" + XmlEscape(r.summary) + "\" type=\"" + XmlEscape(r.kind) + "\">";
    std::string body;
    for (const GateObservation& o : r.observations) body += o.operand + ": " + o.observed + "\n";
    out += XmlEscape(body) + "</failure>\n    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string GateReportMarkdown(const GateReport& report) {
  bool passed = report.passed();
  std::string out = "### " + std::string(passed ? "✅" : "❌") + " cairn gate `" + Subject(report) + "`: " +
                    (passed ? "PASS" : "FAIL") + "\n\n";
  for (const std::string& w : report.warnings) out += "> **Warning:** " + Cell(w) + "\n\n";
  if (report.rules.empty()) return out + "No gates are declared for this model in `cairn.yaml`.\n";
  size_t failed = Failures(report);
  out += std::to_string(report.rules.size() - failed) + " of " + std::to_string(report.rules.size()) +
         " rules passed.\n\n";
  out += "| | Rule | Observed | Result |\n|---|---|---|---|\n";
  for (const GateRuleResult& r : report.rules) {
    bool ok = r.outcome == GateOutcome::kPass;
    out += std::string("| ") + (ok ? "✅" : "❌") + " | " + InlineCode(r.rule) + " | " + Cell(Observed(r)) + " | " +
           GateOutcomeName(r.outcome) + " |\n";
  }
  return out;
}

}  // namespace cairn
