// The text form of a profile report (cairn/profile.h): per table a line
// about the file, a table of the columns, their most frequent values and a
// histogram drawn with block characters. Read from the report's JSON, so
// the text says exactly what --json says.
#include <cstdio>
#include <sstream>

#include "cairn/profile.h"
#include "util/escape.h"

namespace cairn {
namespace {

// A value of the table: numbers never cut (a whole number too wide for the
// column is written like the means, 2.12446e+10), text escaped and cut with
// ".." (a "~" in this table marks an estimate).
std::string Number(const Json& v, size_t width = 10) {
  if (v.is_null()) return "-";
  if (v.is_string()) {
    std::string s = EscapeControl(v.get<std::string>());
    return s.size() > width ? s.substr(0, width - 2) + ".." : s;
  }
  char buf[32];
  if (v.is_number_integer()) {
    std::string digits = v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::to_string(v.get<int64_t>());
    if (digits.size() <= width) return digits;
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
  return buf;
}

std::string Cut(std::string s, size_t width) {
  s = EscapeControl(s);
  if (s.size() > width) s = s.substr(0, width - 2) + "..";
  return s;
}

std::string Pad(const std::string& s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }

std::string Bars(const Json& counts) {
  static const char* kBlocks[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
  uint64_t top = 0;
  for (const Json& c : counts) top = std::max(top, c.get<uint64_t>());
  std::string out;
  for (const Json& c : counts) {
    uint64_t n = c.get<uint64_t>();
    int level = top == 0 ? 0 : static_cast<int>((n * 8 + top - 1) / top);
    out += kBlocks[level];
  }
  return out;
}

void PrintTable(std::ostream& out, const std::string& label, const SourceProfile& p) {
  const Json& prof = p.profile;
  const Json& cols = prof.at("columns");
  out << label << ":" << p.source.path << "  " << prof.at("rows").get<uint64_t>() << " row(s), " << cols.size()
      << " column(s) shown (" << prof.at("format").get<std::string>();
  if (prof.contains("header") && !prof.at("header").get<bool>()) out << ", no header row";
  out << ")  profile " << p.object.Short() << (p.computed ? " (computed now)" : " (stored)") << "\n";
  const std::vector<std::pair<std::string, size_t>> heads = {
      {"COLUMN", 16}, {"TYPE", 8}, {"NULLS", 12}, {"DISTINCT", 10}, {"MIN", 11}, {"MAX", 11},
      {"MEAN", 11},   {"STD", 11}, {"P25", 11},   {"P50", 11},      {"P75", 11}};
  std::string line;
  for (const auto& [h, w] : heads) line += Pad(h, w);
  out << "  " << line << "\n";
  for (const Json& c : cols) {
    const Json& q = c.at("quantiles");
    auto quantile = [&](const char* name) { return q.is_null() ? std::string("-") : Number(q.at(name)); };
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%", 100 * c.at("null_share").get<double>());
    std::vector<std::string> cells = {
        Cut(c.at("name").get<std::string>(), 15),
        c.at("type").get<std::string>(),
        std::to_string(c.at("nulls").get<uint64_t>()) + " " + share,
        (c.at("distinct_exact").get<bool>() ? "" : "~") + std::to_string(c.at("distinct").get<uint64_t>()),
        Number(c.at("min")),
        Number(c.at("max")),
        Number(c.at("mean")),
        Number(c.at("std")),
        quantile("p25"),
        quantile("p50"),
        quantile("p75")};
    line.clear();
    for (size_t i = 0; i < cells.size(); ++i) line += Pad(cells[i], heads[i].second);
    out << "  " << line << "\n";
  }
  for (const Json& c : cols) {
    const Json& top = c.at("top_values");
    if (top.empty()) continue;
    out << "  top " << c.at("name").get<std::string>() << ":";
    size_t shown = 0;
    for (const Json& t : top) {
      if (shown++ == 5) break;
      out << " " << Cut(t.at("value").get<std::string>(), 20) << " (" << (c.at("top_values_exact").get<bool>() ? "" : "~")
          << t.at("count").get<uint64_t>() << ")";
    }
    out << "\n";
  }
  for (const Json& c : cols) {
    const Json& h = c.at("histogram");
    if (h.is_null()) continue;
    out << "  histogram " << c.at("name").get<std::string>() << ": " << Number(h.at("edges").front()) << " |"
        << Bars(h.at("counts")) << "| " << Number(h.at("edges").back()) << (h.at("exact").get<bool>() ? "" : " (sampled)")
        << "\n";
  }
}

}  // namespace

std::string ProfileReportText(const ProfileReport& report) {
  std::ostringstream out;
  for (size_t i = 0; i < report.tables.size(); ++i) {
    if (i) out << "\n";
    PrintTable(out, report.label, report.tables[i]);
  }
  for (const std::string& s : report.skipped) out << "skipped " << s << " (not a table)\n";
  return out.str();
}

}  // namespace cairn
