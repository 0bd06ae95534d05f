// Experiments: kept by the tracking store, each with a descriptor under
// .cairn/refs/experiments/<id> (what a reindex restores them from). An
// experiment's tags live only in its descriptor: the store indexes names.
#include <nlohmann/json.hpp>

#include "cairn/json.h"
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
  if (!e.tags.empty()) j["tags"] = e.tags;
  fs::path path = ExperimentRefPath(repo, e.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, DumpJson(j, 1) + "\n", /*sync=*/true);
}

Status NoExperiment(const std::string& name) {
  return Status::NotFound("no experiment named '" + name + "'", "list them with 'cairn experiments'");
}

}  // namespace tracking_internal

namespace {

using Tags = std::map<std::string, std::string>;

// The tags in experiment `id`'s descriptor; none when it has no descriptor.
// Corruption when the descriptor cannot be read as one.
Result<Tags> DescriptorTags(Repo& repo, int64_t id) {
  fs::path path = ExperimentRefPath(repo, id);
  std::error_code ec;
  if (!fs::exists(path, ec)) return Tags{};
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  auto damaged = [&](const std::string& why) {
    return Status::Corruption(path.string() + ": damaged experiment descriptor (" + why + ")",
                              "restore it from a backup, or remove it and run 'cairn reindex'");
  };
  if (!j.is_object()) return damaged("not a JSON object");
  Tags tags;
  if (!j.contains("tags")) return tags;
  if (!j["tags"].is_object()) return damaged("'tags' is not an object");
  for (const auto& [key, value] : j["tags"].items()) {
    if (!value.is_string()) return damaged("tag '" + key + "' is not a string");
    tags[key] = value.get<std::string>();
  }
  return tags;
}

// `e` with the tags of its descriptor. A damaged descriptor reads as
// untagged here: listing experiments must not fail on it (SetExperimentTags
// reports it, and a reindex names it).
Experiment WithTags(Repo& repo, Experiment e) {
  auto tags = DescriptorTags(repo, e.id);
  if (tags.ok()) e.tags = std::move(*tags);
  return e;
}

Status ValidateTags(const Tags& tags) {
  for (const auto& [k, v] : tags) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("experiment tag"));
  return Status::OK();
}

Status SetExperimentDeleted(TrackingStore& store, Repo& repo, const std::string& name, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(name, /*count_runs=*/true));
  if (!e) return NoExperiment(name);
  if (deleted && e->id == 0) return Status::InvalidArgument("the Default experiment cannot be deleted",
                                                            "delete its runs one by one, or rename it");
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo.Lock());  // the descriptor is read, then rewritten
  Experiment changed = WithTags(repo, *e);
  changed.deleted = deleted;
  CAIRN_RETURN_IF_ERROR(store.PutExperiment(changed));
  return WriteExperimentRef(repo, changed);
}

}  // namespace

Result<Experiment> Tracker::GetExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(auto e, impl_->store->FindExperiment(name, /*count_runs=*/true));
  if (!e) return NoExperiment(name);
  return WithTags(repo_, std::move(*e));
}

Result<Experiment> Tracker::CreateExperiment(const std::string& name, const Tags& tags) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  CAIRN_RETURN_IF_ERROR(ValidateTags(tags));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, impl_->store->CreateExperiment(name, NowMs()));
  e.tags = tags;
  CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, e));
  return e;
}

Result<Experiment> Tracker::GetOrCreateExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(auto found, store.FindExperiment(name, /*count_runs=*/true));
  if (found) return WithTags(repo_, std::move(*found));
  auto created = store.CreateExperiment(name, NowMs());
  if (created.ok()) {
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, *created));
    return *created;
  }
  // Another process created it between the lookup and the insert: theirs.
  if (created.status().code() != Code::kAlreadyExists) return created.status();
  CAIRN_ASSIGN_OR_RETURN(found, store.FindExperiment(name, /*count_runs=*/true));
  if (!found) return Status::Corruption("experiment '" + name + "' exists and cannot be found");
  return WithTags(repo_, std::move(*found));
}

Status Tracker::SetExperimentTags(const std::string& name, const Tags& tags) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateTags(tags));
  CAIRN_ASSIGN_OR_RETURN(auto e, impl_->store->FindExperiment(name, /*count_runs=*/true));
  if (!e) return NoExperiment(name);
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());  // read, merge, write: one writer at a time
  CAIRN_ASSIGN_OR_RETURN(Tags merged, DescriptorTags(repo_, e->id));
  for (const auto& [k, v] : tags) merged[k] = v;
  e->tags = std::move(merged);
  return WriteExperimentRef(repo_, *e);
}

Result<std::vector<Experiment>> Tracker::ListExperiments(bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Experiment> all, impl_->store->ListExperiments());
  std::vector<Experiment> out;
  for (Experiment& e : all) {
    if (include_deleted || !e.deleted) out.push_back(WithTags(repo_, std::move(e)));
  }
  return out;
}

Status Tracker::RenameExperiment(const std::string& from, const std::string& to) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(to));
  CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(from, /*count_runs=*/false));
  if (!e) return NoExperiment(from);
  CAIRN_ASSIGN_OR_RETURN(auto clash, store.FindExperiment(to, /*count_runs=*/false));
  if (clash) return Status::AlreadyExists("experiment '" + to + "' exists", "pick another name");
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());  // the descriptor is read, then rewritten
  Experiment renamed = WithTags(repo_, *e);
  renamed.name = to;
  CAIRN_RETURN_IF_ERROR(store.PutExperiment(renamed));
  return WriteExperimentRef(repo_, renamed);
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
