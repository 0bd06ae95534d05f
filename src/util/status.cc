#include "cairn/status.h"

#include <cerrno>
#include <cstring>

namespace cairn {

const CodeInfo& InfoFor(Code code) {
  static const CodeInfo kTable[] = {
      {"OK", 0, 200},
      {"NOT_FOUND", 2, 404},
      {"ALREADY_EXISTS", 2, 409},
      {"INVALID_ARGUMENT", 2, 400},
      {"AMBIGUOUS", 2, 400},
      {"CORRUPTION", 2, 500},
      {"IO_ERROR", 2, 500},
      {"BUSY", 2, 503},
      {"FAILED_PRECONDITION", 2, 409},
      {"UNAVAILABLE", 2, 503},
      {"UNAUTHENTICATED", 2, 401},
      {"PERMISSION_DENIED", 2, 403},
  };
  static_assert(sizeof kTable / sizeof kTable[0] == static_cast<size_t>(Code::kPermissionDenied) + 1);
  return kTable[static_cast<size_t>(code)];
}

Status Status::FromErrno(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  std::string hint;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      hint = "free some disk space and run the command again; nothing was changed";
      break;
    case EFBIG:
      hint = "the file size limit (ulimit -f) was reached; raise it and run again";
      break;
    case EACCES:
    case EPERM:
      hint = "check the file permissions";
      break;
    case EROFS:
      hint = "the file system is read-only";
      break;
    default:
      break;
  }
  return Status(Code::kIOError, std::move(msg), std::move(hint));
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, hint_);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  if (hint_.empty()) return message_;
  return message_ + " (hint: " + hint_ + ")";
}

}  // namespace cairn
