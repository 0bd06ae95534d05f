// Sealing ended runs into records named by refs/runs/<id>, rebuilding the
// index from the records (reindex), adopting records from elsewhere
// (import) and the gc roots they hold.
#include <nlohmann/json.hpp>

#include <future>
#include <map>

#include "cairn/object.h"
#include "cairn/tracking.h"
#include "cairn/run_record.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"

namespace cairn {

using namespace tracking_internal;
using nlohmann::json;

namespace tracking_internal {

Status WriteRunRef(Repo& repo, const std::string& id, const Oid& record) {
  fs::path path = RunRefPath(repo, id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, record.ToString() + "\n", /*sync=*/true);
}

// A run is sealed by three durable files: its metric history and record
// objects, then refs/runs/<id> naming the record. Each file is fsynced,
// renamed, and its directory fsynced; done one after another that is six
// waits for the disk (each a journal commit, ~1-2 ms on a busy disk). The
// two objects do not depend on each other (the record holds the history's
// oid, known from its bytes), and the ref's content can be made durable
// under its temp name meanwhile, so those three go to the disk together
// (the file system commits concurrent syncs as one). Only the ref's rename
// waits for both objects to be durable: a crash can never leave a ref that
// names a record the disk does not hold.
Status Seal(TrackingStore& store, Repo& repo, const std::string& id, std::optional<Oid> history, RunInfo* sealed) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, store.LoadRun(id, /*full=*/true));
  std::string history_bytes;
  if (!history) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<MetricPoint> points, store.LoadHistory(id, nullptr));
    if (!points.empty()) {
      history_bytes = EncodeMetricHistory(points);
      history = Oid::Of(history_bytes);
    }
  }
  std::string record_bytes = EncodeRunRecord(run, history);
  Oid record = Oid::Of(record_bytes);
  std::future<Result<Oid>> history_put;
  if (!history_bytes.empty()) {
    history_put = std::async(std::launch::async, [&] { return repo.store().PutObjectDurable(history_bytes); });
  }
  std::future<Result<Oid>> record_put =
      std::async(std::launch::async, [&] { return repo.store().PutObjectDurable(record_bytes); });
  // The ref's new content, durable under its temp name while the objects sync.
  fs::path ref = RunRefPath(repo, run.id);
  Status ref_status = MakeDirs(ref.parent_path());
  std::optional<TempFile> ref_tmp;
  if (ref_status.ok()) {
    auto tmp = TempFile::Create(ref.parent_path(), ref.filename().string());
    if (tmp.ok()) {
      ref_tmp.emplace(std::move(tmp).value());
      ref_status = ref_tmp->Write(record.ToString() + "\n");
      if (ref_status.ok()) ref_status = ref_tmp->Sync();
    } else {
      ref_status = tmp.status();
    }
  }
  // Both futures are waited for on every path: they read the bytes above.
  Status objects = Status::OK();
  if (history_put.valid()) {
    Result<Oid> h = history_put.get();
    if (!h.ok()) objects = h.status();
  }
  Result<Oid> r = record_put.get();
  if (objects.ok() && !r.ok()) objects = r.status();
  CAIRN_RETURN_IF_ERROR(objects);
  CAIRN_RETURN_IF_ERROR(ref_status);
  // Its data is durable already: only the rename waits for the disk.
  CAIRN_RETURN_IF_ERROR(ref_tmp->Commit(ref, /*sync=*/false));
  CAIRN_RETURN_IF_ERROR(SyncDirectory(ref.parent_path()));
  CAIRN_RETURN_IF_ERROR(store.SetRecord(run.id, record, history));
  if (sealed) {
    run.record = record;
    *sealed = std::move(run);
  }
  return Status::OK();
}

Status Reseal(TrackingStore& store, Repo& repo, const StoredRunState& r) {
  if (!r.record) return Status::OK();
  // Without a history (a run that logged no points), Seal looks for points again.
  return Seal(store, repo, r.id, r.history);
}

}  // namespace tracking_internal

namespace {

// Indexes a sealed run from its record (replacing any row of that id). With
// `trust_id` (records made in this clone), a run whose experiment was renamed
// stays in it; otherwise (records from another clone, whose experiment ids
// mean nothing here) the run joins, or creates, the experiment of its name.
Status IndexSealedRun(TrackingStore& store, Repo& repo, const std::string& id, const Oid& record, bool trust_id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(record));
  std::optional<Oid> history;
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecordOf(data, id, &history));
  std::vector<MetricPoint> points;
  if (history) {
    CAIRN_ASSIGN_OR_RETURN(std::string h, repo.store().Read(*history));
    CAIRN_ASSIGN_OR_RETURN(points, DecodeMetricHistory(h, "metric history of run " + id));
  }
  // The record's experiment id is this clone's when the record was made
  // here (the experiment may have been renamed since), but means nothing
  // for a record imported from another clone, which is matched by name.
  CAIRN_ASSIGN_OR_RETURN(std::optional<Experiment> by_id, store.FindExperimentById(run.experiment_id, /*count_runs=*/false));
  std::optional<Experiment> exp;
  if (by_id && by_id->name == run.experiment) {
    exp = by_id;
  } else {
    CAIRN_ASSIGN_OR_RETURN(exp, store.FindExperiment(run.experiment, /*count_runs=*/false));
    if (!exp && by_id && trust_id) exp = by_id;
  }
  if (!exp) {
    CAIRN_ASSIGN_OR_RETURN(Experiment created, store.CreateExperiment(run.experiment, run.start_ms));
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo, created));
    exp = created;
  }
  run.experiment_id = exp->id;
  return store.IndexSealedRun(run, record, history, points);
}

// An experiment descriptor (refs/experiments/<id>); Corruption naming the
// file when it is not one.
Result<Experiment> ReadExperimentRef(const fs::path& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  json j = json::parse(data, nullptr, false);
  auto damaged = [&](const std::string& why) {
    return Status::Corruption(path.string() + ": damaged experiment descriptor (" + why + ")",
                              "restore it from a backup or remove it; its runs then join an experiment of their "
                              "recorded name");
  };
  if (!j.is_object()) return damaged("not a JSON object");
  if (!j.contains("id") || !j["id"].is_number_integer()) return damaged("no integer 'id'");
  if (!j.contains("name") || !j["name"].is_string()) return damaged("no string 'name'");
  Experiment e;
  e.id = j["id"].get<int64_t>();
  e.name = j["name"].get<std::string>();
  // The file name is the id runs and the index know it by.
  if (path.filename().string() != std::to_string(e.id)) {
    return damaged("its id is " + std::to_string(e.id) + ", its file name " + path.filename().string());
  }
  if (j.contains("deleted")) {
    if (!j["deleted"].is_boolean()) return damaged("'deleted' is not true or false");
    e.deleted = j["deleted"].get<bool>();
  }
  if (j.contains("created")) {
    if (!j["created"].is_number_integer()) return damaged("'created' is not an integer");
    e.created_ms = j["created"].get<int64_t>();
  }
  return e;
}

}  // namespace

Result<int64_t> Tracker::Reindex() {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  int64_t count = 0;
  CAIRN_RETURN_IF_ERROR(store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.DropSealedRuns());
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> experiments, ListDir(repo_.layout().experiments()));
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> run_ids, ListDir(repo_.layout().runs()));
    std::map<std::string, std::string> files_by_name;
    for (const std::string& name : experiments) {
      const fs::path path = repo_.layout().experiment(name);
      CAIRN_ASSIGN_OR_RETURN(Experiment e, ReadExperimentRef(path));
      if (auto [it, added] = files_by_name.emplace(e.name, name); !added) {
        return Status::Corruption(path.string() + ": damaged experiment descriptor (experiment '" + e.name +
                                      "' is also described by " + it->second + ")",
                                  "remove the descriptor that is not the experiment's; its runs then join the "
                                  "experiment of their recorded name");
      }
      CAIRN_RETURN_IF_ERROR(store.PutExperiment(e));
    }
    for (const std::string& id : run_ids) {
      if (!ValidateRunId(id).ok()) continue;
      CAIRN_ASSIGN_OR_RETURN(Oid record, ReadRunRef(RunRefPath(repo_, id)));
      CAIRN_RETURN_IF_ERROR(IndexSealedRun(store, repo_, id, record, /*trust_id=*/true));
      ++count;
    }
    return Status::OK();
  }));
  return count;
}

Result<int64_t> Tracker::ImportRuns(const std::vector<std::pair<std::string, Oid>>& runs,
                                    std::vector<std::string>* warnings) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  int64_t count = 0;
  CAIRN_RETURN_IF_ERROR(store.Transaction([&]() -> Status {
    for (const auto& [id, record] : runs) {
      CAIRN_RETURN_IF_ERROR(ValidateRunId(id));
      auto current = ReadRunRef(RunRefPath(repo_, id));
      if (current.ok() && *current == record) continue;
      // A record that is damaged or another run's is refused alone: the
      // rest of the import proceeds, and the local run stays as it was.
      auto data = repo_.store().Read(record);
      if (data.ok()) {
        std::optional<Oid> history;
        if (auto run = DecodeRunRecordOf(*data, id, &history); !run.ok()) {
          if (warnings) warnings->push_back("run " + id + " not imported: " + run.status().ToString());
          continue;
        }
      }
      CAIRN_RETURN_IF_ERROR(IndexSealedRun(store, repo_, id, record, /*trust_id=*/false));
      CAIRN_RETURN_IF_ERROR(WriteRunRef(repo_, id, record));
      ++count;
    }
    return Status::OK();
  }));
  return count;
}

Status Tracker::CollectRoots(OidSet* live) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(impl_->store->CollectOids(live));
  // Records named by refs but missing from the index (before a reindex).
  // Fails closed: a ref or record that cannot be read may name objects
  // that must be kept, so nothing may be collected until it is repaired.
  auto unreadable = [](const std::string& id, const Status& s) {
    return Status::FromCode(s.code(), "gc roots: run " + id + ": " + s.message(),
                            "repair or remove refs/runs/" + id + " (a fetch from a remote restores a missing "
                            "record); nothing is collected until then");
  };
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> run_ids, ListDir(repo_.layout().runs()));
  for (const std::string& id : run_ids) {
    if (!ValidateRunId(id).ok()) continue;
    auto record = ReadRunRef(RunRefPath(repo_, id));
    if (!record.ok()) return unreadable(id, record.status());
    if (live->count(*record)) continue;
    live->insert(*record);
    auto data = repo_.store().Read(*record);
    if (!data.ok()) return unreadable(id, data.status());
    std::optional<Oid> history;
    auto run = DecodeRunRecord(*data, "run " + id, &history);
    if (!run.ok()) return unreadable(id, run.status());
    if (history) live->insert(*history);
    for (const RunArtifact& a : run->artifacts) live->insert(a.oid);
  }
  return Status::OK();
}

}  // namespace cairn
