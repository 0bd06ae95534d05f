// The lock that serialises model promotions (.cairn/promote.lock): held
// from the gates' evaluation to the alias move, so two `cairn model
// promote` at once run one after the other. Taken before the writer lock
// (SetAlias takes that one itself), never while holding it.
#ifndef CAIRN_REGISTRY_PROMOTE_LOCK_H_
#define CAIRN_REGISTRY_PROMOTE_LOCK_H_

#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

class PromoteLock {
 public:
  // Waits up to $CAIRN_LOCK_TIMEOUT seconds (default 60) for another
  // promotion to finish; Busy (naming its pid) after that.
  static Result<PromoteLock> Take(Repo& repo);
  PromoteLock(PromoteLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  PromoteLock& operator=(PromoteLock&&) = delete;
  ~PromoteLock();

 private:
  explicit PromoteLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cairn

#endif  // CAIRN_REGISTRY_PROMOTE_LOCK_H_
