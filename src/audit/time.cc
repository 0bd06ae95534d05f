// Times given to 'cairn audit log --since' (and other audit queries).
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string>

#include "cairn/audit.h"

namespace cairn {

Result<int64_t> ParseAuditTime(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("cannot read '" + std::string(text) + "' as a time",
                                   "give epoch seconds (1764633600), a date (2026-12-01) or a UTC date-time "
                                   "(2026-12-01T14:30:00Z)");
  };
  if (text.empty()) return bad();
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 12) return bad();
    return static_cast<int64_t>(std::stoll(std::string(text))) * 1000;
  }
  std::string s(text);
  if (s.back() == 'Z') s.pop_back();
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int consumed = 0;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed);
  if (n != 3 || consumed != 10) return bad();
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != ' ') return bad();
    int rest = 0;
    std::string tail = s.substr(11);
    if (std::sscanf(tail.c_str(), "%2d:%2d%n", &h, &mi, &rest) != 2 || rest != 5) return bad();
    if (tail.size() == 8 && tail[5] == ':' && std::isdigit(static_cast<unsigned char>(tail[6])) &&
        std::isdigit(static_cast<unsigned char>(tail[7]))) {
      sec = (tail[6] - '0') * 10 + (tail[7] - '0');
    } else if (tail.size() != 5) {
      return bad();
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(::timegm(&tm)) * 1000;
}

}  // namespace cairn
