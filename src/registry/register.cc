// Registering a model version: finding the artifact (a run's logged file or
// directory, or a pipeline stage's workspace output), recording the
// producing run's params, metrics, environment and every upstream dataset
// version (through lineage), then numbering it under the repository lock.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/lineage.h"
#include "cairn/model_signature.h"
#include "cairn/pipeline.h"
#include "cairn/refs.h"
#include "registry/registry_internal.h"
#include "util/file.h"

namespace cairn {

using namespace registry_internal;

namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string CleanArtifactPath(std::string path) {
  while (path.starts_with("./")) path.erase(0, 2);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

// What a registration found before numbering: the artifact (and the tree to
// store, when it is a selection of files) and the run.
struct Found {
  ModelArtifact artifact;
  std::optional<Tree> tree;  // to store under the lock (a directory artifact)
  RunInfo run;
  std::string stage;
};

// The artifact a tree's entries below `prefix` make: a blob for one file
// at `prefix` itself, else a tree of the files below it. Empty when none.
std::optional<Found> SelectFiles(const std::vector<TreeEntry>& entries, const std::string& prefix) {
  Found f;
  for (const TreeEntry& e : entries) {
    if (e.path == prefix) {
      f.artifact = ModelArtifact{ObjectKind::kBlob, e.oid, prefix, BaseName(prefix), e.size, 1};
      return f;
    }
  }
  Tree tree;
  std::string dir = prefix.empty() ? "" : prefix + "/";
  for (const TreeEntry& e : entries) {
    if (!e.path.starts_with(dir)) continue;
    TreeEntry sub = e;
    sub.path = e.path.substr(dir.size());
    tree.entries.push_back(std::move(sub));
  }
  if (tree.entries.empty()) return std::nullopt;
  f.artifact.kind = ObjectKind::kTree;
  f.artifact.path = prefix;
  f.artifact.filename = BaseName(prefix);
  f.artifact.size = tree.TotalSize();
  f.artifact.files = tree.entries.size();
  f.tree = std::move(tree);
  return f;
}

// The tracker resolves run id prefixes of at least this many hex digits.
constexpr size_t kMinRunPrefix = 6;

bool IsHexText(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

Result<RunInfo> EndedRun(Tracker& tracker, const std::string& id) {
  auto got = tracker.GetRun(id);
  if (!got.ok() && got.status().code() == Code::kNotFound && IsHexText(id) && id.size() < kMinRunPrefix) {
    return Status::NotFound("no run named '" + id + "', and '" + id + "' is too short for a run id prefix (" +
                                std::to_string(id.size()) + " digits; at least " + std::to_string(kMinRunPrefix) +
                                " are needed)",
                            "give at least 6 digits of the run id ('cairn runs' lists them)");
  }
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, std::move(got));
  if (run.status == RunStatus::kRunning) {
    return Status::FailedPrecondition("run " + run.id.substr(0, 8) + " is still RUNNING",
                                      "register a model once its run has ended (a sealed run cannot change)");
  }
  if (run.deleted) {
    return Status::FailedPrecondition("run " + run.id.substr(0, 8) + " is deleted",
                                      "restore it first with 'cairn runs restore " + run.id.substr(0, 8) + "'");
  }
  return run;
}

Result<Found> FromRun(Tracker& tracker, const RegisterOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, EndedRun(tracker, options.run));
  std::string path = CleanArtifactPath(options.artifact);
  if (path.empty()) return Status::InvalidArgument("--artifact needs the path of an artifact of the run");
  std::vector<TreeEntry> entries;
  std::vector<std::string> paths;
  for (const RunArtifact& a : run.artifacts) {
    entries.push_back(TreeEntry{a.path, false, a.size, a.oid});
    paths.push_back(a.path);
  }
  std::optional<Found> found = SelectFiles(entries, path);
  if (!found) {
    std::string hint = "the run logged no artifacts";
    if (!paths.empty()) {
      hint = "its artifacts include: ";
      std::vector<std::string> near = Nearest(path, paths, 5);
      for (size_t i = 0; i < near.size(); ++i) hint += (i ? ", " : "") + near[i];
      if (paths.size() > near.size()) hint += ", … ('cairn artifacts list " + run.id.substr(0, 8) + "')";
    }
    return Status::InvalidArgument("run " + run.id.substr(0, 8) + " never logged an artifact '" + path + "'", hint);
  }
  found->run = std::move(run);
  return std::move(*found);
}

// True when the files agree path for path and byte for byte (by oid).
// A single-file version's one entry is named after the file: paths are
// compared only for directories.
bool SameFiles(const Tree& a, const Tree& b, bool compare_paths) {
  if (a.entries.size() != b.entries.size()) return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    if (a.entries[i].oid != b.entries[i].oid) return false;
    if (compare_paths && a.entries[i].path != b.entries[i].path) return false;
  }
  return true;
}

Result<Found> FromWorkspace(Tracker& tracker, const RegisterOptions& options) {
  Repo& repo = tracker.repo();
  auto relative = repo.RelativePath(options.path);
  if (!relative.ok() && relative.status().code() == Code::kInvalidArgument && relative.status().hint().empty()) {
    return Status::InvalidArgument(relative.status().message(),
                  "register a pipeline stage's output inside the repository, or a run's artifact with --run RUN "
                  "--artifact PATH");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string rel, std::move(relative));
  auto spec = LoadPipeline(repo);
  if (!spec.ok() && spec.status().code() == Code::kNotFound) {
    return Status::InvalidArgument(rel + " is not a pipeline stage's output: there is no cairn.yaml",
                                   "register a run's artifact with --run RUN --artifact PATH");
  }
  if (!spec.ok()) return spec.status();
  const StageSpec* stage = spec->Producer(rel);
  if (!stage) {
    return Status::InvalidArgument(rel + " is not the output of any stage in cairn.yaml",
                                   "register a run's artifact with --run RUN --artifact PATH");
  }
  std::string out;
  for (const std::string& o : stage->outs) {
    if (rel == o || rel.starts_with(o + "/")) out = o;
  }
  if (out.empty()) {  // Producer() also finds a stage's metrics files
    std::string outs;
    for (const std::string& o : stage->outs) outs += (outs.empty() ? "" : ", ") + o;
    return Status::InvalidArgument(rel + " is a metrics file of stage " + stage->name + ", not one of its outputs",
                                   outs.empty() ? "stage " + stage->name +
                                                      " has no outs to register; register a run's artifact with "
                                                      "--run RUN --artifact PATH"
                                                : "register one of its outputs instead: " + outs);
  }
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  auto locked = lock.find(stage->name);
  if (locked == lock.end() || !locked->second.outs.count(out) || locked->second.run.empty()) {
    return Status::InvalidArgument("stage " + stage->name + " has not produced " + out + " yet",
                                   "run 'cairn repro " + stage->name + "' first");
  }
  const Oid& version_oid = locked->second.outs.at(out);
  const std::string& run_id = locked->second.run;
  CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, version_oid));
  CAIRN_ASSIGN_OR_RETURN(Tree produced, LoadFiles(repo, version));
  std::string modified = rel + " was modified since stage " + stage->name + " produced it";
  std::string rerun = "run 'cairn repro' (or 'cairn checkout " + out + "' to restore what it produced)";
  std::error_code ec;
  if (!fs::exists(repo.Abs(out), ec)) {
    return Status::InvalidArgument(out + " is not in the workspace", "run 'cairn repro' or 'cairn checkout " + out + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(Tree workspace, WorkspaceFiles(repo, out, false));
  if (!SameFiles(workspace, produced, version.kind == ObjectKind::kTree)) return Status::InvalidArgument(modified, rerun);
  std::optional<Found> found;
  if (rel == out) {
    found.emplace();
    found->artifact = ModelArtifact{version.kind, version.object, rel,
                                    version.kind == ObjectKind::kBlob && !version.filename.empty() ? version.filename
                                                                                                  : BaseName(out),
                                    version.size, version.files};
  } else {
    found = SelectFiles(produced.entries, rel.substr(out.size() + 1));
    if (!found) return Status::InvalidArgument(rel + " is not among the files stage " + stage->name + " produced");
    found->artifact.path = rel;
  }
  auto run = EndedRun(tracker, run_id);
  if (!run.ok() && run.status().code() == Code::kNotFound) {
    return Status::FailedPrecondition("run " + run_id.substr(0, 8) + " of stage " + stage->name +
                                          ", which produced " + out + ", is not in this clone",
                                      "fetch it with 'cairn pull', or run 'cairn repro --force " + stage->name + "'");
  }
  if (!run.ok()) return run.status();
  if (auto tag = run->tags.find("cairn.out." + out);
      tag != run->tags.end() && tag->second != version_oid.ToString()) {
    return Status::InvalidArgument("cairn.lock says run " + run_id.substr(0, 8) + " produced " + out + " version " +
                                       version_oid.Short() + ", but the run recorded " + tag->second,
                                   "run 'cairn repro' to make them agree");
  }
  found->run = std::move(*run);
  found->stage = stage->name;
  return std::move(*found);
}

// How `run` came by its direct input `d`: "explicit" when it declared that
// version (-i, a stage dep, use_dataset), else "workspace" (only checked
// out when it started).
std::string SourceOf(const RunInfo& run, const ModelDataset& d) {
  std::string source = "workspace";
  for (const RunInput& in : run.inputs) {
    if (in.dataset == d.dataset && in.version == d.version && in.source == "explicit") source = in.source;
  }
  return source;
}

// Every dataset version upstream of `run`, through lineage back to raw data.
Result<std::vector<ModelDataset>> UpstreamDatasets(Repo& repo, const RunInfo& run) {
  LineageOptions lo;
  CAIRN_ASSIGN_OR_RETURN(LineageGraph graph, Lineage(repo, run.id, lo));
  std::string root = "run:" + run.id;
  std::map<std::string, bool> direct, modified;
  for (const LineageEdge& e : graph.edges) {
    if (e.to == root) {
      direct[e.from] = true;
      modified[e.from] = modified[e.from] || e.modified;
    }
  }
  std::vector<ModelDataset> out;
  std::map<std::string, std::vector<Tag>> tags;
  for (const LineageNode& n : graph.nodes) {
    if (n.kind != "dataset") continue;
    auto oid = Oid::Parse(n.attrs.count("version") ? n.attrs.at("version") : "");
    if (!oid.ok()) continue;
    ModelDataset d;
    d.dataset = n.name;
    d.version = *oid;
    d.direct = direct.count(n.id) > 0;
    d.modified = modified.count(n.id) && modified.at(n.id);
    if (d.direct) d.source = SourceOf(run, d);
    if (!tags.count(n.name)) {
      auto listed = ListTags(repo, n.name);
      tags[n.name] = listed.ok() ? std::move(*listed) : std::vector<Tag>();
    }
    for (const Tag& t : tags[n.name]) {
      if (t.version == d.version) d.tags.push_back(t.name);
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const ModelDataset& a, const ModelDataset& b) {
    return std::tie(a.dataset, a.version) < std::tie(b.dataset, b.version);
  });
  return out;
}

}  // namespace

Result<ModelVersionState> RegisterModel(Tracker& tracker, const RegisterOptions& options) {
  Repo& repo = tracker.repo();
  CAIRN_RETURN_IF_ERROR(ValidateModelName(options.model));
  bool by_run = !options.run.empty() || !options.artifact.empty();
  if (by_run == !options.path.empty()) {
    return Status::InvalidArgument("register needs either --run RUN --artifact PATH, or a workspace PATH",
                                   "cairn model register NAME --run 3f2a9c --artifact model.pkl");
  }
  if (by_run && (options.run.empty() || options.artifact.empty())) {
    return Status::InvalidArgument("--run and --artifact go together",
                                   "cairn model register " + options.model +
                                       " --run RUN --artifact PATH (the path the run logged, see 'cairn artifacts list RUN')");
  }
  for (const auto& [k, v] : options.tags) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k));
  std::optional<ModelSignature> signature;
  if (!options.signature_file.empty()) {
    fs::path file = options.signature_file;
    if (file.is_relative()) file = repo.base_dir() / file;
    CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    CAIRN_ASSIGN_OR_RETURN(ModelSignature sig, ParseSignature(text, "file:" + options.signature_file));
    signature = std::move(sig);
  }

  // Everything read before the lock: lineage reads every run.
  CAIRN_ASSIGN_OR_RETURN(Found found, by_run ? FromRun(tracker, options) : FromWorkspace(tracker, options));
  // `model get` writes DIR/<filename> beside DIR/provenance.json.
  if (found.artifact.filename == "provenance.json") {
    return Status::InvalidArgument(
        "artifact " + found.artifact.path + " is named provenance.json, the file 'cairn model get' writes beside it",
        "rename it in the run (or the stage's outs), e.g. to model_provenance.json, and register that");
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<ModelDataset> datasets, UpstreamDatasets(repo, found.run));

  ModelVersion v;
  v.model = options.model;
  v.artifact = found.artifact;
  v.run = found.run.id;
  v.run_status = RunStatusName(found.run.status);
  v.run_record = found.run.record;
  v.stage = found.stage;
  v.params = found.run.params;
  for (const auto& [k, m] : found.run.metrics) v.metrics[k] = m.value;
  v.env = found.run.env;
  v.datasets = std::move(datasets);
  if (!signature) {
    // None given: the schema of the run's direct tabular input, when it has one.
    CAIRN_ASSIGN_OR_RETURN(signature, InferTrainingSignature(repo, v.datasets));
  }
  v.signature = std::move(signature);
  v.tags = options.tags;
  v.message = options.message;
  v.user = repo.Author();
  v.host = HostName();
  v.time_ms = NowMs();

  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  if (found.tree) {
    CAIRN_RETURN_IF_ERROR(found.tree->Normalize());
    CAIRN_ASSIGN_OR_RETURN(v.artifact.object, repo.store().PutObjectDurable(found.tree->Encode()));
    for (const TreeEntry& e : found.tree->entries) {
      if (!repo.store().Has(e.oid)) {
        return Status::FailedPrecondition("the data of artifact file " + e.path + " (" + e.oid.Short() +
                                              ") is not in the cache",
                                          "fetch it with 'cairn pull --runs'");
      }
    }
  } else if (!repo.store().Has(v.artifact.object)) {
    return Status::FailedPrecondition("the data of artifact " + v.artifact.path + " (" + v.artifact.object.Short() +
                                          ") is not in the cache",
                                      "fetch it with 'cairn pull --runs'");
  }
  // Numbered under the lock: two registrations never get the same number,
  // and a number an interrupted registration's audit entry claims is not
  // given again.
  CAIRN_RETURN_IF_ERROR(FinishInterruptedRegistration(repo, options.model));
  CAIRN_RETURN_IF_ERROR(FinishInterruptedChange(repo, options.model));
  CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, options.model));
  v.version = numbers.empty() ? 1 : numbers.back() + 1;
  CAIRN_ASSIGN_OR_RETURN(Oid oid, repo.store().PutObjectDurable(v.Encode()));
  fs::path pending = PendingPath(repo, v.model);
  CAIRN_RETURN_IF_ERROR(MakeDirs(pending.parent_path()));
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(pending, EncodePending({v.version, oid}), /*sync=*/true));
  AuditEvent event;
  event.action = "model.register";
  std::string subject = "model:" + v.model;
  event.subjects = {subject + "@" + std::to_string(v.version), subject, oid.ToString()};
  event.reason = options.message;
  event.details = {{"version", v.version},
                   {"artifact", v.artifact.object.ToString()},
                   {"artifact_path", v.artifact.path},
                   {"run", v.run}};
  if (!v.stage.empty()) event.details["stage"] = v.stage;
  CAIRN_RETURN_IF_ERROR(AppendAudit(repo, event).status());
  CAIRN_RETURN_IF_ERROR(CreateVersionRef(repo, v.model, v.version, oid));
  // Done: a leftover intent would only be found complete and removed.
  if (::unlink(pending.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno("cannot remove " + pending.string(), errno);
  }
  ModelVersionState st;
  st.oid = oid;
  st.version = std::move(v);
  return st;
}

}  // namespace cairn
