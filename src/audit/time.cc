// Times users give on the command line: 'cairn audit log --since' and
// 'cairn model history --at' read them here, so both take the same forms
// and refuse the same mistakes.
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>

#include "cairn/audit.h"

namespace cairn {
namespace {

bool Digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument("cannot read the time '" + std::string(text) + "'",
                                 "give a date (2026-03-01), a date and time (2026-03-01T12:30:00Z, "
                                 "2026-03-01T12:30:00+02:00) or seconds since the epoch");
}

}  // namespace

Result<int64_t> ParseTimeArgument(std::string_view text, DayBound day) {
  if (Digits(text)) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || seconds > 253402300799) return BadTime(text);
    return seconds * 1000;
  }
  std::string s(text);
  int year = 0, month = 0, day_of_month = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day_of_month, &used) != 3 || used != 10)
    return BadTime(text);
  bool date_only = s.size() == 10;
  int64_t millis = 0;
  int64_t offset_s = 0;
  if (!date_only) {
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return BadTime(text);
    size_t at = 11;
    int n = 0;
    if (std::sscanf(s.c_str() + at, "%2d:%2d%n", &hour, &minute, &n) != 2 || n != 5) return BadTime(text);
    at += 5;
    if (at < s.size() && s[at] == ':') {
      if (std::sscanf(s.c_str() + at + 1, "%2d%n", &second, &n) != 1 || n != 2) return BadTime(text);
      at += 3;
      if (at < s.size() && s[at] == '.') {
        size_t start = ++at;
        int64_t scale = 100;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
          millis += (s[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return BadTime(text);
      }
    }
    if (at < s.size()) {
      if (s[at] == 'Z' || s[at] == 'z') {
        ++at;
      } else if (s[at] == '+' || s[at] == '-') {
        int oh = 0, om = 0;
        if (std::sscanf(s.c_str() + at + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
          return BadTime(text);
        offset_s = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        at += 6;
      }
    }
    if (at != s.size()) return BadTime(text);
  }
  if (month < 1 || month > 12 || day_of_month < 1 || day_of_month > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60)
    return BadTime(text);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day_of_month;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t seconds = ::timegm(&tm);
  if (tm.tm_mday != day_of_month) return BadTime(text);  // 2026-02-30 normalised to March
  int64_t ms = (static_cast<int64_t>(seconds) - offset_s) * 1000 + millis;
  if (date_only && day == DayBound::kEnd) ms += 86400 * 1000 - 1;
  return ms;
}

Result<int64_t> ParseAuditTime(std::string_view text) { return ParseTimeArgument(text, DayBound::kStart); }

}  // namespace cairn
