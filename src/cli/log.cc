#include <iostream>

#include "cairn/dataset.h"
#include "cli/command.h"

namespace cairn::cli {

Json VersionJson(const Oid& oid, const Version& v) {
  Json parents = Json::array();
  for (const Oid& p : v.parents) parents.push_back(p.ToString());
  return {{"version", oid.ToString()},
          {"dataset", v.dataset},
          {"kind", v.kind == ObjectKind::kTree ? "tree" : "blob"},
          {"object", v.object.ToString()},
          {"size", v.size},
          {"files", v.files},
          {"parents", parents},
          {"author", v.author},
          {"time", v.time},
          {"message", v.message}};
}

void RegisterLog(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("log", "Show the version history of a dataset");
  cmd->footer("DATASET is a ref: data/raw, data/raw@v1.0.0, data/raw@3f2a91c, data/raw@latest, data/raw~2.");
  struct Args {
    std::string ref;
    size_t limit = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DATASET", args->ref, "Dataset name, path or ref")->required();
  cmd->add_option("-n,--limit", args->limit, "Show at most N versions");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto ref = ResolveRef(**repo, args->ref);
      if (!ref.ok()) return Fail(ref.status());
      auto log = Log(**repo, *ref, args->limit);
      if (!log.ok()) return Fail(log.status());
      Json out = Json::array();
      for (const LogEntry& e : *log) {
        if (args->json) {
          Json j = VersionJson(e.oid, e.version);
          j["tags"] = e.tags;
          j["data_present"] = e.data_present;
          out.push_back(j);
          continue;
        }
        std::cout << "version " << e.oid.Hex();
        if (!e.tags.empty()) {
          std::cout << " (tag:";
          for (size_t i = 0; i < e.tags.size(); ++i) std::cout << (i ? ", " : " ") << e.tags[i];
          std::cout << ")";
        }
        std::cout << "\nAuthor: " << e.version.author << "\nDate:   " << FormatTime(e.version.time)
                  << "\nSize:   " << Human(e.version.size) << " in " << e.version.files << " file(s)"
                  << (e.data_present ? "" : " [data removed by gc]") << "\n\n    "
                  << (e.version.message.empty() ? "(no message)" : e.version.message) << "\n\n";
      }
      if (args->json) PrintJson(out);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
