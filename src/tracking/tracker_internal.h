// What the tracker's source files share: the Tracker's state, run lookup
// (tracker.cc), sealing (sealing.cc), experiment descriptors
// (experiments.cc), ids and names (ids.cc) and process liveness
// (liveness.cc). Internal to src/tracking.
#ifndef CAIRN_TRACKING_TRACKER_INTERNAL_H_
#define CAIRN_TRACKING_TRACKER_INTERNAL_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"
#include "cairn/sys/tracking_store.h"
#include "cairn/tracking.h"
#include "util/file.h"

namespace cairn {

struct Tracker::Impl {
  std::unique_ptr<TrackingStore> store;
  std::recursive_mutex mu;
  std::string host;
};

namespace tracking_internal {

// ---- ids and names (ids.cc) ----
std::string RandomRunId();
bool IsHex(std::string_view s);
std::string HostName();
std::string LoginName();
fs::path RunRefPath(Repo& repo, const std::string& id);
fs::path ExperimentRefPath(Repo& repo, int64_t id);
// Names in `dir` not starting with '.', sorted; none when `dir` does not
// exist, an error when it exists but cannot be listed (ListDirNames).
Result<std::vector<std::string>> ListDir(const fs::path& dir);
Status ValidateExperimentName(const std::string& name);

// ---- environment facts (env.cc) ----
// The bytes of /proc/meminfo's MemTotal value ("16384 kB"); nothing when
// it is not a number of kB that fits.
std::optional<uint64_t> ParseMemTotalBytes(std::string_view value);
// The top of the git work tree containing `dir` (absolute): the nearest
// directory, `dir` or above, holding a .git directory or file. Nothing
// when there is none.
std::optional<fs::path> GitWorkTreeContaining(const fs::path& dir);

// ---- process liveness (liveness.cc) ----
// Start time of a process (clock ticks since boot); 0 when there is no such process.
int64_t ProcessStart(int64_t pid);
// `written` (the status of a write to run `r`); when it is OK and `r` is a
// RUNNING run without an owner pid (detached), its heartbeat is refreshed
// too: such a run lives as long as something writes to it.
Status Touched(TrackingStore& store, const StoredRunState& r, Status written);

// ---- experiments (experiments.cc) ----
Status WriteExperimentRef(Repo& repo, const Experiment& e);
Status NoExperiment(const std::string& name);

// ---- runs (tracker.cc) ----
// A run by id, unique id prefix (≥ 6 hex) or name.
Result<StoredRunState> FindRun(TrackingStore& store, const std::string& run);
Status NotRunning(const StoredRunState& r, const char* what);

// ---- sealing (sealing.cc) ----
Status WriteRunRef(Repo& repo, const std::string& id, const Oid& record);
// Writes the run's record (and metric history when `history` is empty and
// points exist), makes them durable, moves the ref, and notes the record in
// the store. The caller holds the repository lock. With `sealed`, sets it
// to the run as sealed (what LoadRun would give now, without a second load).
Status Seal(TrackingStore& store, Repo& repo, const std::string& run, std::optional<Oid> history,
            RunInfo* sealed = nullptr);
// Re-seals an ended run after a change (tags, artifacts, delete/restore).
Status Reseal(TrackingStore& store, Repo& repo, const StoredRunState& r);

}  // namespace tracking_internal
}  // namespace cairn

#endif  // CAIRN_TRACKING_TRACKER_INTERNAL_H_
