#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterAdd(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("add", "Snapshot files or directories as a new dataset version");
  cmd->footer(
      "Writes PATH.cairn (commit it to git) and adds PATH to the .gitignore beside it.\n"
      "Re-adding a changed path creates a new version whose parent is the previous one.\n"
      "Example: cairn add data/raw -m 'March export'");
  struct Args {
    std::vector<std::string> paths;
    AddOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("PATH", args->paths, "Files or directories to track")->required();
  cmd->add_option("--name", args->options.name, "Dataset name (default: the path relative to the repo root)");
  cmd->add_option("-m,--message", args->options.message, "Describe this version");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      args->options.progress = ProgressWanted();
      auto results = Add(**repo, args->paths, args->options);
      if (!results.ok()) return Fail(results.status());
      Json out = Json::array();
      for (const AddResult& r : *results) {
        if (args->json) {
          out.push_back(AddResultJson(r));
          continue;
        }
        if (r.unchanged) {
          std::cout << r.path << ": unchanged, nothing to add (version " << r.version.Short() << ")\n";
        } else {
          std::cout << "added " << r.path << " as dataset " << r.dataset << ": " << r.files << " file(s), "
                    << Human(r.bytes) << ", version " << r.version.Short();
          if (r.parent) std::cout << " (parent " << r.parent->Short() << ")";
          std::cout << "\n";
        }
      }
      if (args->json) {
        PrintJson(out);
      } else if ((*repo)->has_git()) {
        bool any = false;
        for (const AddResult& r : *results) any |= !r.unchanged;
        if (any) {
          std::cout << "To record it in git: git add";
          for (const AddResult& r : *results) std::cout << " " << r.path << ".cairn";
          std::cout << " && git commit\n";
        }
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
