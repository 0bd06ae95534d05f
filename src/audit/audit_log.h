// The audit log's writer: holds .cairn/audit/lock for its lifetime, after
// recovering the log's tail (see log.cc), and appends lines durably.
// Internal to src/audit/.
#ifndef CAIRN_AUDIT_AUDIT_LOG_H_
#define CAIRN_AUDIT_AUDIT_LOG_H_

#include <string>
#include <unordered_set>
#include <vector>

#include "audit/audit_internal.h"
#include "cairn/layout.h"
#include "util/file.h"

namespace cairn::audit_internal {

class LogWriter {
 public:
  // Creates .cairn/audit/ when needed, locks it (waiting for other writers)
  // and recovers the tail. Corruption when the tail is damaged in a way an
  // interrupted append cannot explain.
  static Result<LogWriter> Open(const Layout& layout);
  LogWriter(LogWriter&&) = default;

  // HEAD as recovered (heads sorted).
  const Head& head() const { return head_; }
  // Appends `lines` (without newlines; ids[i] and prevs[i] belong to
  // lines[i], in log order) with one write and one fsync, then HEAD.
  Status AppendLines(const std::vector<std::string>& lines, const std::vector<std::string>& ids,
                     const std::vector<std::vector<std::string>>& prevs);
  // The ids of every entry up to HEAD's end (reads the whole log).
  Result<std::unordered_set<std::string>> AllIds();

 private:
  LogWriter() = default;
  Status Recover();
  Status WriteHead();

  Layout layout_;
  Fd lock_;  // flock held while this lives (released on close)
  Fd log_;
  Head head_;
};

}  // namespace cairn::audit_internal

#endif  // CAIRN_AUDIT_AUDIT_LOG_H_
