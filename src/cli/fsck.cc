#include <iostream>

#include "cairn/maintenance.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterFsck(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("fsck", "Verify every cached object, tree, version, pointer and tag");
  cmd->footer("Exit 0 when everything is intact, 1 when damage or missing data was found.");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->callback([&ctx, json] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto report = Fsck(**repo, ProgressWanted());
      if (!report.ok()) return Fail(report.status());
      if (*json) {
        Json problems = Json::array();
        for (const FsckProblem& p : report->problems) {
          problems.push_back({{"kind", p.what}, {"name", p.name}, {"message", p.message}});
        }
        PrintJson({{"objects_checked", report->objects_checked},
                   {"bytes_checked", report->bytes_checked},
                   {"pointers_checked", report->pointers_checked},
                   {"runs_checked", report->runs_checked},
                   {"ok", report->problems.empty()},
                   {"problems", problems}});
      } else {
        for (const FsckProblem& p : report->problems) {
          std::cout << "damaged " << p.what << " " << p.name << ": " << p.message << "\n";
        }
        std::cout << "checked " << report->objects_checked << " object(s) (" << Human(report->bytes_checked)
                  << "), " << report->pointers_checked << " pointer file(s) and " << report->runs_checked
                  << " run record(s): "
                  << (report->problems.empty() ? "no problems" : std::to_string(report->problems.size()) + " problem(s)")
                  << "\n";
      }
      return report->problems.empty() ? kExitOk : kExitNegative;
    });
  });
}

}  // namespace cairn::cli
