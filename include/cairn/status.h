// Status and Result<T>: how every cairn library function reports failure.
//
// No exceptions cross the public API. A Status carries a code from a small
// fixed set, a message saying what failed (naming the path or ref), and an
// optional hint saying what the user can do next. The edges translate: the CLI
// prints "cairn: error: <message>" and "hint: <hint>" and exits 2.
#ifndef CAIRN_STATUS_H_
#define CAIRN_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace cairn {

enum class Code {
  kOk = 0,
  kNotFound,            // a ref, object, file or dataset does not exist
  kAlreadyExists,       // e.g. a tag that is already defined
  kInvalidArgument,     // bad user input: path, ref syntax, option value
  kAmbiguous,           // a ref prefix that matches several objects
  kCorruption,          // stored data fails its checksum or does not parse
  kIOError,             // the operating system refused (disk full, EIO, EACCES)
  kBusy,                // another process holds the repository lock
  kFailedPrecondition,  // the operation would lose data (needs --force) or is forbidden
  kUnavailable,         // a server or remote cannot be reached now; retrying may help
  kUnauthenticated,     // credentials are missing or wrong
  kPermissionDenied,    // the caller is known but not allowed to do this
};

// How each code is shown at the edges: its name ("NOT_FOUND"), the exit code
// of the CLI, and the HTTP status of the server. One table, in status.cc.
struct CodeInfo {
  const char* name;
  int exit_code;    // 2 for every error: "bad input or state, see the message"
  int http_status;  // 404, 409, 400 …
};
const CodeInfo& InfoFor(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg, std::string hint = {}) {
    return Status(Code::kNotFound, std::move(msg), std::move(hint));
  }
  static Status AlreadyExists(std::string msg, std::string hint = {}) {
    return Status(Code::kAlreadyExists, std::move(msg), std::move(hint));
  }
  static Status InvalidArgument(std::string msg, std::string hint = {}) {
    return Status(Code::kInvalidArgument, std::move(msg), std::move(hint));
  }
  static Status Ambiguous(std::string msg, std::string hint = {}) {
    return Status(Code::kAmbiguous, std::move(msg), std::move(hint));
  }
  static Status Corruption(std::string msg, std::string hint = {}) {
    return Status(Code::kCorruption, std::move(msg), std::move(hint));
  }
  static Status IOError(std::string msg, std::string hint = {}) {
    return Status(Code::kIOError, std::move(msg), std::move(hint));
  }
  // Builds an IOError from errno: "<what>: <strerror(err)>", with a hint for
  // the errors users can fix (disk full, permissions).
  static Status FromErrno(const std::string& what, int err);
  static Status Busy(std::string msg, std::string hint = {}) {
    return Status(Code::kBusy, std::move(msg), std::move(hint));
  }
  static Status FailedPrecondition(std::string msg, std::string hint = {}) {
    return Status(Code::kFailedPrecondition, std::move(msg), std::move(hint));
  }
  static Status Unavailable(std::string msg, std::string hint = {}) {
    return Status(Code::kUnavailable, std::move(msg), std::move(hint));
  }
  static Status Unauthenticated(std::string msg, std::string hint = {}) {
    return Status(Code::kUnauthenticated, std::move(msg), std::move(hint));
  }
  static Status PermissionDenied(std::string msg, std::string hint = {}) {
    return Status(Code::kPermissionDenied, std::move(msg), std::move(hint));
  }
  // Any code (for front ends that map foreign errors, e.g. HTTP statuses).
  static Status FromCode(Code code, std::string msg, std::string hint = {}) {
    return Status(code, std::move(msg), std::move(hint));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(const std::string& context) const;
  std::string ToString() const;

 private:
  Status(Code code, std::string msg, std::string hint)
      : code_(code), message_(std::move(msg)), hint_(std::move(hint)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cairn

#define CAIRN_CONCAT_INNER_(a, b) a##b
#define CAIRN_CONCAT_(a, b) CAIRN_CONCAT_INNER_(a, b)

#define CAIRN_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::cairn::Status cairn_status_ = (expr);  \
    if (!cairn_status_.ok()) return cairn_status_; \
  } while (0)

#define CAIRN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define CAIRN_ASSIGN_OR_RETURN(lhs, expr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL_(CAIRN_CONCAT_(cairn_result_, __LINE__), lhs, expr)

#endif  // CAIRN_STATUS_H_
