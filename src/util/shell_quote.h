// Shell quoting of the command lines a run records (RunInfo::command), so
// that every front end writes them alike: `cairn run -- python3 train.py`
// and a Python script started as `python3 train.py` record the same text.
#ifndef CAIRN_UTIL_SHELL_QUOTE_H_
#define CAIRN_UTIL_SHELL_QUOTE_H_

#include <string>
#include <vector>

namespace cairn {

// `s` as a POSIX shell word: unchanged when it is non-empty and made only
// of letters, digits and _-./=:,+@%; else in single quotes (a ' inside
// becomes '\''). Thread-safe.
std::string ShellQuote(const std::string& s);

// The words quoted and joined by single spaces ("" for none).
std::string ShellJoin(const std::vector<std::string>& words);

}  // namespace cairn

#endif  // CAIRN_UTIL_SHELL_QUOTE_H_
