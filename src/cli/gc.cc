#include <iostream>

#include "cairn/maintenance.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterGc(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("gc", "Remove cached data no pointer, tag or recent commit needs");
  cmd->footer(
      "Without --apply, only reports what would be removed. Kept: data named by pointer files in\n"
      "the workspace, by every tag (golden ones always), by every commit of the protected\n"
      "branches (default main and master), and by commits of other branches younger than\n"
      "--keep-days (default 30).");
  struct Args {
    GcOptions options;
    std::vector<std::string> protect;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_flag("--apply", args->options.apply, "Really delete");
  cmd->add_option("--keep-days", args->options.keep_days, "Keep data of other branches' commits younger than N days")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--protect", args->protect, "Branches whose whole history is kept (default: main master)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!args->protect.empty()) args->options.protect = args->protect;
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
                   {"packs_rewritten", p.packs_rewritten}});
        return kExitOk;
      }
      std::cout << (report->applied ? "removed " : "would remove ") << p.objects_removed << " object(s), "
                << Human(p.bytes_removed) << "; keeping " << p.objects_kept << " object(s), " << Human(p.bytes_kept)
                << " for " << report->root_versions << " version(s) (" << report->commits_scanned
                << " git commit(s) scanned)\n";
      if (!report->applied && p.objects_removed > 0) std::cout << "run 'cairn gc --apply' to delete them\n";
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
