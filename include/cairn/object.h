// Tree and version objects: their in-memory form and canonical encodings.
//
// Encodings are text, one field per line, so they diff and debug well, and
// canonical (sorted, no optional whitespace), so equal content gives an equal
// oid. Both are versioned by their first line; see doc/formats.md.
#ifndef CAIRN_OBJECT_H_
#define CAIRN_OBJECT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

// One file of a directory snapshot.
struct TreeEntry {
  std::string path;  // relative, '/'-separated, no "." or ".." components
  bool executable = false;
  uint64_t size = 0;
  Oid oid;
};

// A flat manifest of every regular file below a tracked directory, sorted by
// path (byte order).
struct Tree {
  std::vector<TreeEntry> entries;

  uint64_t TotalSize() const;
  // Sorts entries; InvalidArgument on a duplicate or unencodable path.
  Status Normalize();
  std::string Encode() const;  // requires Normalize()d entries
  static Result<Tree> Decode(std::string_view data);
};

enum class ObjectKind { kBlob, kTree };

// One snapshot of a dataset.
struct Version {
  std::string dataset;
  ObjectKind kind = ObjectKind::kTree;
  Oid object;            // tree oid, or the blob oid when a single file is tracked
  uint64_t size = 0;     // total bytes
  uint64_t files = 0;    // file count (1 for a blob)
  std::vector<Oid> parents;
  std::string author;
  int64_t time = 0;      // seconds since the epoch
  std::string message;
  // Single-file versions only: the file's name and executable bit.
  std::string filename;
  bool executable = false;

  std::string Encode() const;
  static Result<Version> Decode(std::string_view data);
};

inline constexpr std::string_view kTreeHeader = "cairn-tree 1\n";
inline constexpr std::string_view kVersionHeader = "cairn-version 1\n";

// Checks that a file name can be recorded in a tree (no control characters
// such as newlines, not empty); Tree::Normalize also checks that each path is
// a safe relative path (ValidateRelativePath).
Status ValidateTreePath(std::string_view path);

// Checks that `path` cannot lead out of the directory it is joined to: not
// empty, relative, '/'-separated, no empty, "." or ".." component, no control
// characters (NUL included). Every name that comes from an object or a file
// another person may have written (tree entries, file names, artifact paths,
// lock and pointer fields) passes this before it is used; decoders turn the
// InvalidArgument into Corruption. `what` names the field in the message.
Status ValidateRelativePath(std::string_view path, std::string_view what);
// The same for a single file name (no '/').
Status ValidateFileName(std::string_view name, std::string_view what);
// InvalidArgument when a tree names one path both as a file and as a
// directory holding another entry ("a" and "a/b"). Entries must be sorted.
Status CheckTreeShape(const std::vector<TreeEntry>& entries);

// Checks a dataset name: a relative '/'-separated path without "..", ".",
// empty components, '@', '~' or control characters.
Status ValidateDatasetName(std::string_view name);

}  // namespace cairn

#endif  // CAIRN_OBJECT_H_
