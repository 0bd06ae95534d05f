#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cli/command.h"

namespace cairn::cli {

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
          out.push_back(LogEntryJson(e));
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
                  << (e.data_present ? "" : " [data not fetched: 'cairn pull " + e.version.dataset + "@" +
                                                e.oid.Hex().substr(0, 12) + "' fetches it]")
                  << "\n\n    "
                  << (e.version.message.empty() ? "(no message)" : e.version.message) << "\n\n";
      }
      if (!args->json && !log->empty() && !log->back().version.parents.empty() &&
          (args->limit == 0 || log->size() < args->limit) &&
          !(*repo)->store().Has(log->back().version.parents[0])) {
        const Oid& parent = log->back().version.parents[0];
        std::cout << "(older versions not fetched: 'cairn pull " << log->back().version.dataset << "@"
                  << parent.Hex().substr(0, 12) << "' fetches them)\n";
      }
      if (args->json) PrintJson(out);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
