// The JSON shapes of the datasets domain (see cairn/json.h): versions, log
// entries, tags, file diffs, path status and the results of add and
// checkout. Shapes and versions: doc/json.md, "Datasets".
#ifndef CAIRN_JSON_DATASET_H_
#define CAIRN_JSON_DATASET_H_

#include <string>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/json.h"
#include "cairn/refs.h"

namespace cairn {

// Shape versions (the rule: cairn/json.h).
inline constexpr int kVersionJsonVersion = 1;
inline constexpr int kTagJsonVersion = 1;
inline constexpr int kFileDiffJsonVersion = 1;
inline constexpr int kPathStatusJsonVersion = 1;
inline constexpr int kAddResultJsonVersion = 1;
inline constexpr int kCheckoutResultJsonVersion = 1;

// {version, dataset, kind, object, size, files, parents, author, time, message}
Json VersionJson(const Oid& oid, const Version& version);
// A version with {tags, data_present}: what 'log' lists.
Json LogEntryJson(const LogEntry& entry);
Json LogJson(const std::vector<LogEntry>& entries);

// {dataset, tag, version, golden, author, time, message}
Json TagJson(const Tag& tag);
Json TagListJson(const std::vector<Tag>& tags);

// {path, change, old_size, new_size}
Json FileChangeJson(const FileChange& change);
// {from, to, added, deleted, modified, changes}: `from` and `to` as given
// (an oid, or "workspace").
Json FileDiffJson(const std::string& from, const std::string& to, const std::vector<FileChange>& changes);

// {path, dataset, version, state, added, modified, deleted, changes, cached_version}
Json PathStatusJson(const PathStatus& status);

// {path, dataset, version, parent, unchanged, files, bytes, files_hashed, bytes_hashed}
Json AddResultJson(const AddResult& result);
// {path, files_written, files_removed, bytes_written}
Json CheckoutResultJson(const CheckoutResult& result);

}  // namespace cairn

#endif  // CAIRN_JSON_DATASET_H_
