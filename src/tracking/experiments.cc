// Experiments: kept by the tracking store, each with a descriptor under
// .cairn/refs/experiments/<id> (what a reindex restores them from).
#include <nlohmann/json.hpp>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"

namespace cairn {

using namespace tracking_internal;

namespace tracking_internal {

Status WriteExperimentRef(Repo& repo, const Experiment& e) {
  nlohmann::json j = {{"format", "cairn-experiment 1"},
                      {"id", e.id},
                      {"name", e.name},
                      {"deleted", e.deleted},
                      {"created", e.created_ms}};
  fs::path path = ExperimentRefPath(repo, e.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, j.dump(1) + "\n", /*sync=*/true);
}

Status NoExperiment(const std::string& name) {
  return Status::NotFound("no experiment named '" + name + "'", "list them with 'cairn experiments'");
}

}  // namespace tracking_internal

namespace {

Status SetExperimentDeleted(TrackingStore& store, Repo& repo, const std::string& name, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(name));
  if (!e) return NoExperiment(name);
  if (deleted && e->id == 0) return Status::InvalidArgument("the Default experiment cannot be deleted");
  e->deleted = deleted;
  CAIRN_RETURN_IF_ERROR(store.PutExperiment(*e));
  return WriteExperimentRef(repo, *e);
}

}  // namespace

Result<Experiment> Tracker::GetExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(auto e, impl_->store->FindExperiment(name));
  if (!e) return NoExperiment(name);
  return *e;
}

Result<Experiment> Tracker::CreateExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, impl_->store->CreateExperiment(name, NowMs()));
  CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, e));
  return e;
}

Result<Experiment> Tracker::GetOrCreateExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(auto found, store.FindExperiment(name));
  if (found) return *found;
  auto created = store.CreateExperiment(name, NowMs());
  if (created.ok()) {
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, *created));
    return *created;
  }
  // Another process created it between the lookup and the insert: theirs.
  if (created.status().code() != Code::kAlreadyExists) return created.status();
  CAIRN_ASSIGN_OR_RETURN(found, store.FindExperiment(name));
  if (!found) return Status::Corruption("experiment '" + name + "' exists and cannot be found");
  return *found;
}

Result<std::vector<Experiment>> Tracker::ListExperiments(bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Experiment> all, impl_->store->ListExperiments());
  std::vector<Experiment> out;
  for (Experiment& e : all) {
    if (include_deleted || !e.deleted) out.push_back(std::move(e));
  }
  return out;
}

Status Tracker::RenameExperiment(const std::string& from, const std::string& to) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(to));
  CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(from));
  if (!e) return NoExperiment(from);
  CAIRN_ASSIGN_OR_RETURN(auto clash, store.FindExperiment(to));
  if (clash) return Status::AlreadyExists("experiment '" + to + "' exists", "pick another name");
  e->name = to;
  CAIRN_RETURN_IF_ERROR(store.PutExperiment(*e));
  return WriteExperimentRef(repo_, *e);
}

Status Tracker::DeleteExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(*impl_->store, repo_, name, true);
}

Status Tracker::RestoreExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(*impl_->store, repo_, name, false);
}

}  // namespace cairn
