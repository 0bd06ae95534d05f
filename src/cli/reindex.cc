// cairn reindex: rebuilds the tracking tables of state.db from run records.
#include <iostream>

#include "cli/runs_common.h"

namespace cairn::cli {

void RegisterReindex(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("reindex", "Rebuild the run index in .cairn/state.db from the run records");
  cmd->footer(
      "The database is only an index: every ended run is sealed into a record object named by\n"
      ".cairn/refs/runs/<id>. Runs still RUNNING are kept as they are.");
  cmd->callback([&ctx] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      auto n = (*tracker)->Reindex();
      if (!n.ok()) return Fail(n.status());
      std::cout << "indexed " << *n << (*n == 1 ? " run" : " runs") << "\n";
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
