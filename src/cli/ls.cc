#include <iostream>

#include "cairn/dataset.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterLs(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("ls", "List the files of a dataset version");
  struct Args {
    std::string ref;
    bool json = false, long_format = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF", args->ref, "Dataset name, path or ref")->required();
  cmd->add_flag("-l,--long", args->long_format, "Show mode, size and oid");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto ref = ResolveRef(**repo, args->ref);
      if (!ref.ok()) return Fail(ref.status());
      auto version = LoadVersion(**repo, ref->version);
      if (!version.ok()) return Fail(version.status());
      auto files = LoadFiles(**repo, *version);
      if (!files.ok()) return Fail(files.status());
      Json out = Json::array();
      for (const TreeEntry& e : files->entries) {
        if (args->json) {
          out.push_back({{"path", e.path}, {"executable", e.executable}, {"size", e.size}, {"oid", e.oid.ToString()}});
        } else if (args->long_format) {
          std::cout << (e.executable ? "755 " : "644 ") << e.size << "\t" << e.oid.ToString() << "\t" << e.path << "\n";
        } else {
          std::cout << e.path << "\n";
        }
      }
      if (args->json) PrintJson(out);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
