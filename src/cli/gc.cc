#include <iostream>

#include "cairn/maintenance.h"
#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

// The library's hints say what to do; the flags that do it are this
// command's to name.
Status WithRemoteAdvice(const Status& s, const std::string& remote) {
  std::string extra;
  if (s.code() == Code::kNotFound && s.message().starts_with("several remotes")) extra = " (-r NAME)";
  if (s.code() == Code::kCorruption && !remote.empty()) extra = " ('cairn fsck --remote " + remote + "' checks it)";
  return extra.empty() ? s : Status::FromCode(s.code(), s.message(), s.hint() + extra);
}

template <typename Args>
int RemoteGc(Repo& repo, const Args& args) {
  auto spec = FindRemote(repo, args.remote);
  if (!spec.ok()) return Fail(WithRemoteAdvice(spec.status(), ""));
  RemoteGcOptions options;
  options.apply = args.options.apply;
  options.keep_days = args.options.keep_days;
  if (!args.protect.empty()) options.protect = args.protect;
  options.grace_seconds = args.grace;
  options.progress = ProgressWanted();
  auto r = GcRemote(repo, *spec, options);
  if (!r.ok()) return Fail(WithRemoteAdvice(r.status(), spec->name));
  if (args.json) {
    PrintJson({{"remote", spec->name},
               {"applied", r->applied},
               {"root_versions", r->root_versions},
               {"runs", r->runs},
               {"model_versions", r->model_versions},
               {"derived", r->derived},
               {"derived_removed", r->derived_removed},
               {"live_objects", r->live_objects},
               {"packs_total", r->packs_total},
               {"packs_deleted", r->packs_deleted},
               {"packs_rewritten", r->packs_rewritten},
               {"packs_written", r->packs_written},
               {"bytes_total", r->bytes_total},
               {"bytes_freed", r->bytes_freed},
               {"orphans_removed", r->orphans_removed}});
    return kExitOk;
  }
  std::cout << spec->name << ": " << (r->applied ? "freed " : "would free ") << Human(r->bytes_freed) << " of "
            << Human(r->bytes_total) << " — " << r->packs_deleted << " of " << r->packs_total
            << " pack(s) deleted, " << r->packs_rewritten << " rewritten, " << r->orphans_removed
            << " leftover(s) of interrupted pushes; keeping " << r->live_objects << " object(s) for "
            << r->root_versions << " version(s), " << r->runs << " run(s) and " << r->model_versions
            << " model version(s)\n";
  if (!r->applied && r->bytes_freed > 0) std::cout << "run 'cairn gc --remote " << spec->name << " --apply' to do it\n";
  return kExitOk;
}

}  // namespace

void RegisterGc(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("gc", "Remove cached data no pointer, tag or recent commit needs");
  cmd->footer(
      "Without --apply, only reports what would be removed. Kept: data named by pointer files in\n"
      "the workspace, by every tag (golden ones always), by every commit of the protected\n"
      "branches (default main and master), and by commits of other branches younger than\n"
      "--keep-days (default 30), the versions cairn.lock names, every run's record and artifacts,\n"
      "and the outputs of run-cache entries younger than --keep-days (so a revert is restored,\n"
      "not re-run). use_dataset copies under .cairn/datasets/ of versions not kept go too, unless\n"
      "younger than --grace seconds (default 3600).\n"
      "With --remote NAME, collects garbage on that remote instead: the same roots plus every tag,\n"
      "run, model version and run-cache entry on the remote. Packs that are mostly garbage are rewritten; packs and leftovers\n"
      "younger than --grace seconds (default 3600) are left alone, so a push in progress is safe.\n"
      "Do not run it while another clone pushes to the same remote for longer than that.");
  struct Args {
    GcOptions options;
    std::vector<std::string> protect;
    bool json = false;
    std::string remote;
    int64_t grace = 3600;
  };
  auto args = std::make_shared<Args>();
  // CLI11's NonNegativeNumber names the double range ("0.000000 to 1797…").
  const CLI::Validator not_negative(
      [](std::string& value) -> std::string {
        return !value.empty() && value[0] == '-' ? "must be 0 or more, not " + value : "";
      },
      "N >= 0");
  cmd->add_flag("--apply", args->options.apply, "Really delete");
  cmd->add_option("--keep-days", args->options.keep_days, "Keep data of other branches' commits younger than N days")
      ->check(not_negative);
  cmd->add_option("--protect", args->protect, "Branches whose whole history is kept (default: main master)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->add_option("-r,--remote", args->remote, "Collect garbage on this remote instead of the local cache");
  cmd->add_option("--grace", args->grace,
                  "Never remove use_dataset copies (locally) or packs (on a remote) younger than this many seconds")
      ->check(not_negative);
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!args->remote.empty()) return RemoteGc(**repo, *args);
      if (!args->protect.empty()) args->options.protect = args->protect;
      args->options.copy_grace_seconds = args->grace;
      args->options.progress = ProgressWanted();
      auto report = CollectGarbage(**repo, args->options);
      if (!report.ok()) return Fail(report.status());
      const PruneStats& p = report->prune;
      if (args->json) {
        PrintJson({{"applied", report->applied},
                   {"root_versions", report->root_versions},
                   {"commits_scanned", report->commits_scanned},
                   {"objects_removed", p.objects_removed},
                   {"bytes_removed", p.bytes_removed},
                   {"objects_kept", p.objects_kept},
                   {"bytes_kept", p.bytes_kept},
                   {"packs_rewritten", p.packs_rewritten},
                   {"copies_removed", report->copies_removed},
                   {"copy_bytes_removed", report->copy_bytes_removed},
                   {"derived_removed", report->derived_removed}});
        return kExitOk;
      }
      std::cout << (report->applied ? "removed " : "would remove ") << p.objects_removed << " object(s), "
                << Human(p.bytes_removed) << "; keeping " << p.objects_kept << " object(s), " << Human(p.bytes_kept)
                << " for " << report->root_versions << " version(s) (" << report->commits_scanned
                << " git commit(s) scanned)\n";
      if (report->copies_removed > 0) {
        std::cout << (report->applied ? "removed " : "would remove ") << report->copies_removed
                  << " use_dataset cop" << (report->copies_removed == 1 ? "y" : "ies") << " of versions no longer kept ("
                  << Human(report->copy_bytes_removed) << ")\n";
      }
      if (report->derived_removed > 0) {
        std::cout << (report->applied ? "removed " : "would remove ") << report->derived_removed
                  << " derived object ref(s) (profiles …) of data no longer kept\n";
      }
      if (!report->applied && (p.objects_removed > 0 || report->copies_removed > 0)) std::cout << "run 'cairn gc --apply' to delete them\n";
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
