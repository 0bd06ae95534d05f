#include <iostream>

#include "cli/command.h"

namespace cairn::cli {

void RegisterInit(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("init", "Create a cairn repository (.cairn/) beside git");
  cmd->footer(
      "In a git work tree, .cairn/ is created at its top. Use --no-git for a plain directory.\n"
      "Running init again is harmless.");
  auto no_git = std::make_shared<bool>(false);
  cmd->add_flag("--no-git", *no_git, "Use cairn in a directory that is not a git work tree");
  cmd->callback([&ctx, no_git] {
    Run(ctx, [&] {
      bool created = false;
      auto repo = Repo::Init(".", *no_git, &created);
      if (!repo.ok()) {
        const Status& s = repo.status();
        if (s.code() != Code::kInvalidArgument) return Fail(s);
        return Fail(Status::FromCode(s.code(), s.message(), s.hint() + " ('cairn init --no-git')"));
      }
      if (created) {
        std::cout << "Initialised cairn repository in " << (*repo)->cairn_dir().string() << "\n";
        if ((*repo)->has_git()) std::cout << "Commit .cairn/config and .cairn/.gitignore to share it.\n";
      } else {
        std::cout << "cairn repository already initialised in " << (*repo)->cairn_dir().string() << "\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
