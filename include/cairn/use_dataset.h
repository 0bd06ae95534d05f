// use_dataset: a local, read-only path holding one dataset version, for a
// program to read, recorded as an input of a run. The workspace copy when it
// holds exactly that version; else a copy made once under
// .cairn/datasets/<version hex>/ (files 0444); versions the cache lacks are
// fetched from a remote first.
#ifndef CAIRN_USE_DATASET_H_
#define CAIRN_USE_DATASET_H_

#include <filesystem>
#include <functional>
#include <string>

#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// Receives notes for the user (e.g. that a changed copy was made again).
using MessageCallback = std::function<void(const std::string& message)>;

struct UseDatasetOptions {
  // When the cache lacks the version (or the tag is not known here), fetch
  // it from `remote` (a remote name; empty: the default remote).
  bool fetch = true;
  std::string remote;
  // Return the workspace path when it holds exactly the version, unmodified.
  bool prefer_workspace = true;
  MessageCallback message;  // notes; none when unset
};

struct UsedDataset {
  RunInput input;              // what was recorded (source "explicit")
  std::filesystem::path path;  // absolute: the workspace copy or the read-only copy
  bool workspace = false;      // `path` is the workspace copy
  bool fetched = false;        // the version was fetched from a remote first
};

// Resolves `ref` (name@tag, name@<version hex>, a tracked path …), makes its
// data available locally and then records it as an input of the RUNNING run
// `run`, so an input is recorded only when it could be read. NotFound (with
// what to do) when neither the cache nor the remote has the version.
Result<UsedDataset> UseDataset(Tracker& tracker, const std::string& run, const std::string& ref,
                               const UseDatasetOptions& options = {});

// The same without recording anything (`input` names the version, with
// an empty source).
Result<UsedDataset> LocateDataset(Repo& repo, const std::string& ref, const UseDatasetOptions& options = {});

// The read-only copy (files 0444) of `version` under
// .cairn/datasets/<version hex>, made once: built in a private directory of
// .cairn/tmp, renamed into place and then marked complete by its manifest
// (under the repository lock, which the caller must not hold), so no user
// ever gets a partial copy. Each reuse stat-checks every file against the
// manifest and makes the copy again, with a note to `message`, when one was
// changed, added or removed; it also counts as a use for gc's grace period.
// For a single-file version, the path of the file inside that directory.
// NotFound when the cache lacks the version or one of its files (nothing is
// left behind).
Result<std::filesystem::path> MaterializeDatasetVersion(Repo& repo, const Oid& version,
                                                        const MessageCallback& message = {});

}  // namespace cairn

#endif  // CAIRN_USE_DATASET_H_
