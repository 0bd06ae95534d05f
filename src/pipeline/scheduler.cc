// The order stages run in: a stage starts once everything it needs from the
// selection is done, up to `jobs` at once; a failure skips what depends on
// it; an error lets the running stages finish and starts nothing new.
#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>

#include "pipeline/stage.h"

namespace cairn::pipeline_internal {

Status Schedule(const std::vector<std::string>& todo, const std::map<std::string, std::vector<std::string>>& upstream,
                int jobs, const std::function<Result<bool>(const std::string&, std::unique_lock<std::mutex>&)>& work,
                const std::function<void(const std::string&)>& skipped) {
  const std::set<std::string> selected(todo.begin(), todo.end());
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, StageState> state;
  for (const std::string& n : todo) state[n] = StageState::kWaiting;
  Status fatal;
  int active = 0;
  auto needs = [&](const std::string& n) -> const std::vector<std::string>& { return upstream.at(n); };
  auto ready = [&](const std::string& n) {
    for (const std::string& u : needs(n)) {
      if (selected.count(u) && state[u] != StageState::kDone) return false;
    }
    return true;
  };
  auto blocked = [&](const std::string& n) {
    for (const std::string& u : needs(n)) {
      if (selected.count(u) && state[u] == StageState::kFailed) return true;
    }
    return false;
  };

  std::vector<std::thread> workers;
  std::unique_lock held(mu);
  for (;;) {
    bool pending = false, progressed = false;
    for (const std::string& n : todo) {
      if (state[n] != StageState::kWaiting) continue;
      pending = true;
      if (blocked(n)) {
        state[n] = StageState::kFailed;
        skipped(n);
        progressed = true;
        continue;
      }
      if (!fatal.ok() || !ready(n) || active >= std::max(1, jobs)) continue;
      state[n] = StageState::kRunning;
      ++active;
      progressed = true;
      workers.emplace_back([&, n] {
        std::unique_lock worker_lock(mu);
        Result<bool> ok = work(n, worker_lock);
        if (!ok.ok() && fatal.ok()) fatal = ok.status();
        state[n] = ok.ok() && *ok ? StageState::kDone : StageState::kFailed;
        --active;
        cv.notify_all();
      });
    }
    if (!pending) break;
    if (!progressed && active == 0) break;  // nothing can start (an error stopped the rest)
    if (!progressed) cv.wait(held);
  }
  while (active > 0) cv.wait(held);
  held.unlock();
  for (std::thread& t : workers) t.join();
  return fatal;
}

}  // namespace cairn::pipeline_internal
