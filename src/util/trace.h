// Phase timings for performance work: with CAIRN_TRACE=1 in the environment,
// each TraceScope prints "cairn-trace: <name> <ms>" to stderr when it ends.
// Costs one getenv per process otherwise.
#ifndef CAIRN_UTIL_TRACE_H_
#define CAIRN_UTIL_TRACE_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace cairn {

inline bool TraceEnabled() {
  static const bool enabled = std::getenv("CAIRN_TRACE") != nullptr;
  return enabled;
}

class TraceScope {
 public:
  explicit TraceScope(const char* name) : name_(name), start_(std::chrono::steady_clock::now()) {}
  ~TraceScope() {
    if (!TraceEnabled()) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "cairn-trace: %s %.1f ms\n", name_, ms);
  }

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace cairn

#endif  // CAIRN_UTIL_TRACE_H_
