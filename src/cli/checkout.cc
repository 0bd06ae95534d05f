#include <iostream>

#include "cairn/dataset.h"
#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterCheckout(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("checkout", "Make the workspace match the pointer files");
  cmd->footer(
      "Use after 'git checkout' or 'git pull' to bring the data in line with the pointers.\n"
      "Files are copied (reflinked where the file system can); --link hardlink|symlink is for\n"
      "large read-only data. Modified or untracked files are never overwritten or deleted\n"
      "without --force: the command refuses and lists them.");
  struct Args {
    std::vector<std::string> paths;
    bool force = false, json = false;
    std::string link = "copy";
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("PATH", args->paths, "Limit to these tracked paths");
  cmd->add_flag("-f,--force", args->force, "Discard modified or untracked files in tracked paths");
  cmd->add_option("--link", args->link, "How to place files: copy (default), hardlink, symlink")
      ->check(CLI::IsMember({"copy", "hardlink", "symlink"}));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      CheckoutOptions options;
      options.force = args->force;
      options.mode = args->link == "hardlink" ? LinkMode::kHardlink
                     : args->link == "symlink" ? LinkMode::kSymlink
                                               : LinkMode::kCopy;
      options.progress = ProgressWanted();
      RepairReport repair;
      auto results = CheckoutAndRepair(**repo, args->paths, options, &repair);
      PrintRepair(repair);
      if (!results.ok()) return Fail(results.status());
      Json out = Json::array();
      for (const CheckoutResult& r : *results) {
        if (args->json) {
          out.push_back({{"path", r.path},
                         {"files_written", r.files_written},
                         {"files_removed", r.files_removed},
                         {"bytes_written", r.bytes_written}});
        } else if (r.files_written == 0 && r.files_removed == 0) {
          std::cout << r.path << ": up to date\n";
        } else {
          std::cout << r.path << ": " << r.files_written << " file(s) written (" << Human(r.bytes_written) << "), "
                    << r.files_removed << " removed\n";
        }
      }
      if (args->json) PrintJson(out);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
