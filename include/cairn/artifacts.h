// Run artifacts: listing them and copying them out of the cache. What
// `cairn artifacts list/get` does, and what the Python and HTTP front ends
// call. Paths are '/'-separated and relative to the run's artifact root.
#ifndef CAIRN_ARTIFACTS_H_
#define CAIRN_ARTIFACTS_H_

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// The artifacts of `run` (an id, a unique prefix or a name) whose path is
// `prefix` or lies below it; every artifact when `prefix` is empty. In the
// run's order (by path).
Result<std::vector<RunArtifact>> ListArtifacts(Tracker& tracker, const std::string& run,
                                               const std::string& prefix = {});

// What one artifact path names in a run: the artifact of that path, or,
// when there is none, every artifact below it (a directory).
struct ArtifactSelection {
  std::string run;   // full run id
  std::string path;  // as asked, without trailing '/'
  bool directory = false;
  std::vector<RunArtifact> artifacts;  // at least one
};

// NotFound when `path` names no artifact of `run` and no directory of them.
Result<ArtifactSelection> SelectArtifacts(const RunInfo& run, const std::string& path);
Result<ArtifactSelection> SelectArtifacts(Tracker& tracker, const std::string& run, const std::string& path);

// The bytes of one artifact (checked against its oid).
Result<std::string> ReadArtifact(Repo& repo, const RunArtifact& artifact);

struct DownloadOptions {
  bool overwrite = false;  // replace existing files (never a directory)
  // Called after each file is written, with its destination.
  std::function<void(const RunArtifact&, const std::filesystem::path&)> on_written;
};

// Writes a selection under `dest`, which must be absolute: a single
// artifact to `dest` itself, a directory's artifacts below `dest` at their
// paths relative to the directory (through WriteRoot, so a crafted path
// cannot escape `dest`). Every destination is checked before any is written:
// AlreadyExists when one exists and !overwrite, FailedPrecondition when one
// is a directory, InvalidArgument for an unsafe artifact path. Each file is
// written atomically (a temp file beside it, then rename). Returns the
// destinations, in the selection's order.
Result<std::vector<std::filesystem::path>> DownloadArtifacts(Repo& repo, const ArtifactSelection& selection,
                                                             const std::filesystem::path& dest,
                                                             const DownloadOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_ARTIFACTS_H_
