// The lock that serialises alias moves (.cairn/promote.lock): a promotion
// holds it from the gates' evaluation to the alias move, and `model alias`
// (SetAlias, DeleteAlias) takes it for its move, so nothing moves an alias
// between a promotion's gates and its move, and two promotions run one
// after the other. Taken before the writer lock, never while holding it.
#ifndef CAIRN_REGISTRY_PROMOTE_LOCK_H_
#define CAIRN_REGISTRY_PROMOTE_LOCK_H_

#include <functional>

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

// Test seam: when set, PromoteModel calls it after the gates passed (or
// were forced) and before it moves the alias.
std::function<void()>& PromoteAfterGatesHookForTesting();

}  // namespace cairn

#endif  // CAIRN_REGISTRY_PROMOTE_LOCK_H_
