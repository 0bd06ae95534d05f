// Named references to dataset versions, kept under .cairn/refs/:
//   tags/<dataset>/<tag>   immutable tags (created once, never re-pointed);
//                          golden tags can never be deleted
//   latest/<dataset>       the newest version created in this clone
// Dataset names are escaped into one path component ('/' → "%2F").
#ifndef CAIRN_REFS_H_
#define CAIRN_REFS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

struct Tag {
  std::string dataset;
  std::string name;
  Oid version;
  bool golden = false;
  std::string author;
  int64_t time = 0;
  std::string message;
};

// Checks a tag name: [A-Za-z0-9._+-], starting with a letter or digit, not
// "latest", and not something that reads as an oid prefix.
Status ValidateTagName(const std::string& name);

// Creates a tag atomically. AlreadyExists when the tag exists (tags are
// immutable), even if it names the same version. A golden tag is recorded in
// the audit log ("tag.golden"); when that fails, the tag is not made.
Status CreateTag(Repo& repo, const Tag& tag);
// Creates a tag that came from a remote: as CreateTag, without an audit
// entry (the one made where the tag was created arrives with the remote's
// audit log).
Status ImportTag(Repo& repo, const Tag& tag);
// NotFound when absent; FailedPrecondition for a golden tag. The deletion is
// recorded in the audit log ("tag.delete"); when that fails, the tag stays.
Status DeleteTag(Repo& repo, const std::string& dataset, const std::string& name);
Result<std::optional<Tag>> ReadTag(Repo& repo, const std::string& dataset, const std::string& name);
// All tags of `dataset`, or of every dataset when empty; sorted by dataset, time, name.
Result<std::vector<Tag>> ListTags(Repo& repo, const std::string& dataset = {});

// A dataset name as one path component under refs/ ('/' → "%2F"), and back.
std::string EscapeDatasetName(const std::string& dataset);
std::string UnescapeDatasetName(const std::string& component);
// A tag file's content ("cairn-tag 1", doc/formats.md), and back; remotes
// store tags in the same form.
std::string EncodeTag(const Tag& tag);
Result<Tag> DecodeTag(const std::string& data, const std::string& dataset, const std::string& name);

Status SetLatest(Repo& repo, const std::string& dataset, const Oid& version);
Result<std::optional<Oid>> ReadLatest(Repo& repo, const std::string& dataset);

}  // namespace cairn

#endif  // CAIRN_REFS_H_
