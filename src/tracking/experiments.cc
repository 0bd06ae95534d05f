// Experiments: rows in the index and descriptors under
// .cairn/refs/experiments/<id> (what a reindex restores them from).
#include <nlohmann/json.hpp>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"
#include "util/sqlite.h"

namespace cairn {

using namespace tracking_internal;

namespace tracking_internal {

using nlohmann::json;

Status WriteExperimentRef(Repo& repo, const Experiment& e) {
  json j = {{"format", "cairn-experiment 1"},
            {"id", e.id},
            {"name", e.name},
            {"deleted", e.deleted},
            {"created", e.created_ms}};
  fs::path path = ExperimentRefPath(repo, e.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, j.dump(1) + "\n", /*sync=*/true);
}

Result<std::optional<Experiment>> FindExperiment(sqlite3* db, const std::string& name) {
  Stmt st(db,
          "SELECT e.id, e.name, e.deleted, e.created, "
          "(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND r.deleted = 0) "
          "FROM experiments e WHERE e.name = ?");
  st.Bind(1, name);
  CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Experiment>();
  return std::optional<Experiment>(Experiment{st.Int(0), st.Text(1), st.Int(2) != 0, st.Int(3), st.Int(4)});
}

Status NoExperiment(const std::string& name) {
  return Status::NotFound("no experiment named '" + name + "'", "list them with 'cairn experiments'");
}

}  // namespace tracking_internal

Result<Experiment> Tracker::GetExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, name));
  if (!e) return NoExperiment(name);
  return *e;
}

Result<Experiment> Tracker::CreateExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  Stmt st(impl_->db, "INSERT OR IGNORE INTO experiments (name, created) VALUES (?, ?)");
  st.Bind(1, name).Bind(2, NowMs());
  CAIRN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(impl_->db) == 0) {
    return Status::AlreadyExists("experiment '" + name + "' exists", "pick another name");
  }
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, name));
  CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, *e));
  return *e;
}

Result<std::vector<Experiment>> Tracker::ListExperiments(bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT e.id, e.name, e.deleted, e.created, "
          "(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND r.deleted = 0) "
          "FROM experiments e ORDER BY e.id");
  std::vector<Experiment> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Experiment e{st.Int(0), st.Text(1), st.Int(2) != 0, st.Int(3), st.Int(4)};
    if (include_deleted || !e.deleted) out.push_back(std::move(e));
  }
  return out;
}

Status Tracker::RenameExperiment(const std::string& from, const std::string& to) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(to));
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, from));
  if (!e) return NoExperiment(from);
  CAIRN_ASSIGN_OR_RETURN(auto clash, FindExperiment(impl_->db, to));
  if (clash) return Status::AlreadyExists("experiment '" + to + "' exists", "pick another name");
  Stmt st(impl_->db, "UPDATE experiments SET name = ? WHERE id = ?");
  st.Bind(1, to).Bind(2, e->id);
  CAIRN_RETURN_IF_ERROR(st.Run());
  e->name = to;
  return WriteExperimentRef(repo_, *e);
}

namespace {
Status SetExperimentDeleted(sqlite3* db, Repo& repo, const std::string& name, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(db, name));
  if (!e) return NoExperiment(name);
  if (deleted && e->id == 0) return Status::InvalidArgument("the Default experiment cannot be deleted");
  Stmt st(db, "UPDATE experiments SET deleted = ? WHERE id = ?");
  st.Bind(1, deleted ? 1 : 0).Bind(2, e->id);
  CAIRN_RETURN_IF_ERROR(st.Run());
  e->deleted = deleted;
  return WriteExperimentRef(repo, *e);
}
}  // namespace

Status Tracker::DeleteExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(impl_->db, repo_, name, true);
}

Status Tracker::RestoreExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(impl_->db, repo_, name, false);
}

}  // namespace cairn
