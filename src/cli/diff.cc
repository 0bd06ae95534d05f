#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterDiff(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("diff", "Show files added, deleted or modified between versions");
  cmd->footer(
      "With one REF, compares that version with the workspace; with two, the first with the second.\n"
      "Example: cairn diff data/raw@v1.0.0 data/raw");
  struct Args {
    std::vector<std::string> refs;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF", args->refs, "One or two refs")->required()->expected(1, 2);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto from_ref = ResolveRef(**repo, args->refs[0]);
      if (!from_ref.ok()) return Fail(from_ref.status());
      auto from_version = LoadVersion(**repo, from_ref->version);
      if (!from_version.ok()) return Fail(from_version.status());
      auto from = LoadFiles(**repo, *from_version);
      if (!from.ok()) return Fail(from.status());
      Result<Tree> to = Status::OK();
      std::string to_name;
      if (args->refs.size() == 2) {
        auto to_ref = ResolveRef(**repo, args->refs[1]);
        if (!to_ref.ok()) return Fail(to_ref.status());
        auto to_version = LoadVersion(**repo, to_ref->version);
        if (!to_version.ok()) return Fail(to_version.status());
        to = LoadFiles(**repo, *to_version);
        to_name = to_ref->version.ToString();
      } else {
        if (from_ref->path.empty()) {
          return Fail(Status::NotFound("dataset " + from_ref->dataset + " is not in the workspace",
                                       "give a second ref to compare two versions"));
        }
        to = WorkspaceFiles(**repo, from_ref->path, ProgressWanted());
        to_name = "workspace";
      }
      if (!to.ok()) return Fail(to.status());
      std::vector<FileChange> changes = DiffTrees(*from, *to);
      if (args->json) {
        PrintJson(FileDiffJson(from_ref->version.ToString(), to_name, changes));
        return kExitOk;
      }
      uint64_t counts[3] = {0, 0, 0};
      for (const FileChange& c : changes) {
        counts[static_cast<int>(c.kind)]++;
        if (c.kind == FileChangeKind::kAdded) {
          std::cout << "A  " << c.path << " (" << Human(c.new_size) << ")\n";
        } else if (c.kind == FileChangeKind::kDeleted) {
          std::cout << "D  " << c.path << " (" << Human(c.old_size) << ")\n";
        } else {
          std::cout << "M  " << c.path << " (" << Human(c.old_size) << " -> " << Human(c.new_size) << ")\n";
        }
      }
      std::cout << counts[0] << " added, " << counts[2] << " modified, " << counts[1] << " deleted\n";
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
