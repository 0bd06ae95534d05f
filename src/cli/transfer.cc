// cairn push, cairn fetch, cairn pull.
#include <iostream>

#include "cairn/dataset.h"
#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

struct TransferArgs {
  std::vector<std::string> targets;
  std::string remote;
  bool runs = false, no_lock_runs = false, json = false, force = false;
  int jobs = 0;
};

void AddTransferOptions(CLI::App* cmd, TransferArgs* args, const char* targets_help) {
  cmd->add_option("targets", args->targets, targets_help);
  cmd->add_option("-r,--remote", args->remote, "Remote name (default: the default remote)");
  cmd->add_flag("--runs", args->runs,
                "Also transfer every finished run (records, metric histories, artifacts) and the run cache");
  cmd->add_flag("--no-lock-runs", args->no_lock_runs,
                "Without targets, do not transfer the runs cairn.lock names (they go by default)");
  cmd->add_option("-j,--jobs", args->jobs, "Parallel transfers (default 8 for S3, 4 for directories)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--json", args->json, "Print the report as JSON");
}

Json ReportJson(const TransferReport& r) {
  Json warnings = Json::array();
  for (const std::string& w : r.warnings) warnings.push_back(w);
  Json notes = Json::array();
  for (const std::string& n : r.notes) notes.push_back(n);
  Json refused = Json::array();
  for (const std::string& n : r.refused) refused.push_back(n);
  return {{"versions", r.versions},   {"tags", r.tags},
          {"runs", r.runs},           {"run_cache", r.run_cache},
          {"derived", r.derived},
          {"objects", r.objects},
          {"objects_moved", r.objects_moved}, {"bytes_logical", r.bytes_logical},
          {"chunks", r.chunks},       {"chunks_moved", r.chunks_moved},
          {"bytes_moved", r.bytes_moved}, {"packs", r.packs},
          {"requests", r.requests},   {"audit", r.audit},
          {"warnings", warnings},
          {"notes", notes},           {"models", r.models},
          {"model_versions", r.model_versions}, {"aliases", r.aliases},
          {"approvals", r.approvals}, {"deprecations", r.deprecations},
          {"refused", refused}};
}

// The library's hints say what to do; the flags that do it are this
// command's to name.
Status WithRemoteAdvice(const Status& s, const std::string& remote) {
  std::string extra;
  if (s.code() == Code::kNotFound && s.message().starts_with("several remotes")) extra = " (-r NAME)";
  if (s.code() == Code::kCorruption && !remote.empty()) extra = " ('cairn fsck --remote " + remote + "' checks it)";
  return extra.empty() ? s : Status::FromCode(s.code(), s.message(), s.hint() + extra);
}

void PrintWarnings(const TransferReport& r) {
  for (const std::string& w : r.warnings) std::cerr << "cairn: warning: " << w << "\n";
  for (const std::string& n : r.notes) std::cerr << "cairn: note: " << n << "\n";
}

TransferOptions OptionsFrom(const TransferArgs& args) {
  TransferOptions options{args.targets, args.runs, args.jobs, ProgressWanted()};
  options.lock_runs = !args.no_lock_runs;
  return options;
}

// ", N model version(s), N alias(es) of N model(s)" when the registry moved.
std::string ModelCounts(const TransferReport& r) {
  if (!r.models) return "";
  return ", " + std::to_string(r.model_versions) + " model version(s), " + std::to_string(r.aliases) +
         " alias(es), " + std::to_string(r.approvals) + " approval(s) of " + std::to_string(r.models) + " model(s)";
}

// Push: what the remote refused, as errors (exit 2), after the report.
int RefusedExit(const TransferReport& r) {
  if (r.refused.empty()) return kExitOk;
  for (const std::string& what : r.refused) std::cerr << "cairn: error: push refused: " << what << "\n";
  std::cerr << "hint: everything else was pushed; run 'cairn pull', then 'cairn push' again\n";
  return kExitError;
}

// ", N run-cache entries" and ", N derived object(s)" when there are any.
std::string RunCacheCount(const TransferReport& r) {
  std::string out =
      r.run_cache ? ", " + std::to_string(r.run_cache) + " run-cache entr" + (r.run_cache == 1 ? "y" : "ies") : "";
  if (r.derived) out += ", " + std::to_string(r.derived) + " derived object(s) (profiles …)";
  return out;
}

}  // namespace

void RegisterPush(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("push", "Upload dataset versions (and with --runs, runs) to a remote");
  cmd->footer(
      "Without targets, pushes the version every pointer file in the workspace names. A target is\n"
      "a tracked path or a ref (name@tag, name@<oid>). Every tag of the pushed datasets goes too,\n"
      "with the versions the tags name. Files are split into content-defined chunks, compressed\n"
      "and packed; only chunks the remote lacks are sent. Safe to interrupt and run again.\n"
      "Without targets, the runs that cairn.lock (as committed at HEAD) names go too: the\n"
      "provenance of the committed outputs (--no-lock-runs leaves them). --runs sends every\n"
      "finished run and every run-cache entry with the outputs it names, so a teammate's\n"
      "repro of inputs seen here is restored instead of re-run.\n"
      "Without targets (or with model:NAME targets), the model registry goes too: every model\n"
      "version with its artifact and run, approvals, deprecations and aliases. An alias moved on\n"
      "the remote since this clone last pulled is refused (exit 2): pull, then push again.");
  auto args = std::make_shared<TransferArgs>();
  AddTransferOptions(cmd, args.get(), "Tracked paths or refs to push (default: all pointer files)");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto spec = FindRemote(**repo, args->remote);
      if (!spec.ok()) return Fail(WithRemoteAdvice(spec.status(), ""));
      TransferOptions options = OptionsFrom(*args);
      auto r = Push(**repo, *spec, options);
      if (!r.ok()) return Fail(WithRemoteAdvice(r.status(), spec->name));
      PrintWarnings(*r);
      if (args->json) {
        PrintJson(ReportJson(*r));
        return RefusedExit(*r);
      }
      std::cout << "pushed to " << spec->name << ": " << r->versions << " version(s), " << r->objects_moved << " of "
                << r->objects << " object(s) new";
      if (r->objects_moved > 0) {
        double ratio = r->bytes_moved ? double(r->bytes_logical) / double(r->bytes_moved) : 0;
        std::cout << " (" << Human(r->bytes_logical) << "); " << r->chunks_moved << " of " << r->chunks
                  << " chunk(s) new; sent " << Human(r->bytes_moved) << " in " << r->packs << " pack(s)";
        if (ratio > 1) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.1f", ratio);
          std::cout << " — " << buf << "x less than the new files' size";
        }
      }
      std::cout << "; " << r->tags << " tag(s), " << r->runs << " run(s)" << RunCacheCount(*r) << ModelCounts(*r) << ", " << r->audit
                << " audit entr" << (r->audit == 1 ? "y" : "ies") << " published; " << r->requests << " request(s)\n";
      if (r->objects_moved == 0 && r->tags == 0 && r->runs == 0 && r->run_cache == 0 && r->derived == 0 && r->models == 0 &&
          r->audit == 0 && r->refused.empty()) {
        std::cout << "everything was already there\n";
      }
      return RefusedExit(*r);
    });
  });
}

namespace {

int FetchAndMaybeCheckout(Context& ctx, const TransferArgs& args, bool checkout) {
  auto repo = OpenRepo(ctx);
  if (!repo.ok()) return Fail(repo.status());
  auto spec = FindRemote(**repo, args.remote);
  if (!spec.ok()) return Fail(WithRemoteAdvice(spec.status(), ""));
  TransferOptions options = OptionsFrom(args);
  auto r = Fetch(**repo, *spec, options);
  if (!r.ok()) return Fail(WithRemoteAdvice(r.status(), spec->name));
  PrintWarnings(*r);
  Json out = ReportJson(*r);
  if (!args.json) {
    std::cout << "fetched from " << spec->name << ": " << r->objects_moved << " of " << r->objects
              << " object(s) were missing here; received " << Human(r->bytes_moved) << " in " << r->chunks_moved
              << " chunk(s), " << r->requests << " request(s); " << r->tags << " new tag(s), " << r->runs
              << " run(s)" << RunCacheCount(*r) << ModelCounts(*r) << ", " << r->audit << " audit entr"
              << (r->audit == 1 ? "y" : "ies") << "\n";
  }
  if (checkout) {
    // Only paths (not refs such as data@v1, which have no workspace place).
    std::vector<std::string> paths;
    for (const std::string& t : args.targets) {
      if (t.find('@') == std::string::npos && !t.starts_with("model:")) paths.push_back(t);
    }
    if (!args.targets.empty() && paths.empty()) {
      if (args.json) PrintJson(out);
      return kExitOk;
    }
    CheckoutOptions co;
    co.force = args.force;
    co.progress = ProgressWanted();
    RepairReport repair;
    auto results = CheckoutAndRepair(**repo, paths, co, &repair);
    PrintRepair(repair);
    if (!results.ok()) return Fail(results.status());
    uint64_t files = 0, removed = 0, bytes = 0;
    for (const CheckoutResult& c : *results) {
      files += c.files_written;
      removed += c.files_removed;
      bytes += c.bytes_written;
    }
    out["checkout"] = {{"files_written", files}, {"files_removed", removed}, {"bytes_written", bytes}};
    if (!args.json) {
      std::cout << "checked out " << files << " file(s) (" << Human(bytes) << ")";
      if (removed) std::cout << ", removed " << removed;
      std::cout << "\n";
    }
  }
  if (args.json) PrintJson(out);
  return kExitOk;
}

}  // namespace

void RegisterFetch(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("fetch", "Download dataset versions (and with --runs, runs) into the cache");
  cmd->footer(
      "Without targets, fetches what the workspace's pointer files name. A target is a tracked\n"
      "path or a ref; name@tag also works for tags only the remote knows. The remote's tags of\n"
      "those datasets are created here too. Every byte is verified before it is stored.\n"
      "Without targets, the runs cairn.lock at HEAD names come too, when the remote has them\n"
      "(a note names those it lacks). --runs fetches every run and the remote's run-cache\n"
      "entries; an entry is kept only when its outputs arrived and it agrees with its run.\n"
      "Without targets (or with model:NAME targets), the model registry comes too: versions with\n"
      "their artifacts and runs, approvals, deprecations, and aliases this clone has not moved\n"
      "since it last synced (doc/registry.md, 'Sharing models').");
  auto args = std::make_shared<TransferArgs>();
  AddTransferOptions(cmd, args.get(), "Tracked paths or refs to fetch (default: all pointer files)");
  cmd->callback([&ctx, args] { Run(ctx, [&] { return FetchAndMaybeCheckout(ctx, *args, false); }); });
}

void RegisterPull(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("pull", "Fetch, then check out the workspace");
  cmd->footer(
      "fetch followed by checkout of the same paths. Modified files in the workspace are never\n"
      "overwritten without --force; if the fetch fails, the workspace is not touched. Runs and\n"
      "run-cache entries come as with fetch ('cairn fetch --help').");
  auto args = std::make_shared<TransferArgs>();
  AddTransferOptions(cmd, args.get(), "Tracked paths to pull (default: all pointer files)");
  cmd->add_flag("-f,--force", args->force, "Overwrite modified workspace files");
  cmd->callback([&ctx, args] { Run(ctx, [&] { return FetchAndMaybeCheckout(ctx, *args, true); }); });
}

}  // namespace cairn::cli
