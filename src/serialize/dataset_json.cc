#include "cairn/json_dataset.h"

namespace cairn {
namespace {

Json OidOrNull(const std::optional<Oid>& oid) { return oid ? Json(oid->ToString()) : Json(); }

}  // namespace

Json VersionJson(const Oid& oid, const Version& v) {
  Json parents = Json::array();
  for (const Oid& p : v.parents) parents.push_back(p.ToString());
  return {{"version", oid.ToString()},
          {"dataset", v.dataset},
          {"kind", v.kind == ObjectKind::kTree ? "tree" : "blob"},
          {"object", v.object.ToString()},
          {"size", v.size},
          {"files", v.files},
          {"parents", parents},
          {"author", v.author},
          {"time", v.time},
          {"message", v.message}};
}

Json LogEntryJson(const LogEntry& e) {
  Json j = VersionJson(e.oid, e.version);
  j["tags"] = e.tags;
  j["data_present"] = e.data_present;
  return j;
}

Json LogJson(const std::vector<LogEntry>& entries) {
  Json out = Json::array();
  for (const LogEntry& e : entries) out.push_back(LogEntryJson(e));
  return out;
}

Json TagJson(const Tag& t) {
  return {{"dataset", t.dataset}, {"tag", t.name},  {"version", t.version.ToString()}, {"golden", t.golden},
          {"author", t.author},   {"time", t.time}, {"message", t.message}};
}

Json TagListJson(const std::vector<Tag>& tags) {
  Json out = Json::array();
  for (const Tag& t : tags) out.push_back(TagJson(t));
  return out;
}

Json FileChangeJson(const FileChange& c) {
  return {{"path", c.path}, {"change", FileChangeKindName(c.kind)}, {"old_size", c.old_size}, {"new_size", c.new_size}};
}

Json FileDiffJson(const std::string& from, const std::string& to, const std::vector<FileChange>& changes) {
  uint64_t added = 0, deleted = 0, modified = 0;
  Json list = Json::array();
  for (const FileChange& c : changes) {
    (c.kind == FileChangeKind::kAdded ? added : c.kind == FileChangeKind::kDeleted ? deleted : modified)++;
    list.push_back(FileChangeJson(c));
  }
  return {{"from", from}, {"to", to}, {"added", added}, {"deleted", deleted}, {"modified", modified}, {"changes", list}};
}

Json PathStatusJson(const PathStatus& s) {
  uint64_t added = 0, deleted = 0, modified = 0;
  Json changes = Json::array();
  for (const FileChange& c : s.changes) {
    (c.kind == FileChangeKind::kAdded ? added : c.kind == FileChangeKind::kDeleted ? deleted : modified)++;
    changes.push_back(FileChangeJson(c));
  }
  return {{"path", s.tracked.path},
          {"dataset", s.tracked.pointer.dataset},
          {"version", s.tracked.pointer.version.ToString()},
          {"state", TrackedStateName(s.state)},
          {"added", added},
          {"modified", modified},
          {"deleted", deleted},
          {"changes", changes},
          {"cached_version", OidOrNull(s.cached_version)}};
}

Json AddResultJson(const AddResult& r) {
  return {{"path", r.path},
          {"dataset", r.dataset},
          {"version", r.version.ToString()},
          {"parent", OidOrNull(r.parent)},
          {"unchanged", r.unchanged},
          {"files", r.files},
          {"bytes", r.bytes},
          {"files_hashed", r.files_hashed},
          {"bytes_hashed", r.bytes_hashed}};
}

Json CheckoutResultJson(const CheckoutResult& r) {
  return {{"path", r.path},
          {"files_written", r.files_written},
          {"files_removed", r.files_removed},
          {"bytes_written", r.bytes_written}};
}

}  // namespace cairn
