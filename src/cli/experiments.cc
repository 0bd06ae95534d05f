// cairn experiments: list, create, rename, delete and restore experiments.
#include <iostream>

#include "cairn/json_tracking.h"
#include "cli/runs_common.h"

namespace cairn::cli {

void RegisterExperiments(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("experiments", "List, create, rename, delete or restore experiments");
  cmd->footer(
      "  cairn experiments                 list them with their run counts\n"
      "  cairn experiments create iris\n"
      "  cairn experiments rename iris iris-knn\n"
      "  cairn experiments delete iris-knn (its runs stay; 'restore' brings it back)");
  struct Args {
    std::vector<std::string> names;
    bool json = false, all = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_flag("--json", args->json, "Print the list as JSON");
  cmd->add_flag("--all", args->all, "Include deleted experiments");
  cmd->require_subcommand(0, 1);
  auto with_tracker = [&ctx](const std::function<int(Tracker&)>& body) {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      return body(**tracker);
    });
  };
  auto* list = cmd->add_subcommand("list", "List experiments (the default)");
  list->add_flag("--json", args->json, "Print the list as JSON");
  list->add_flag("--all", args->all, "Include deleted experiments");
  auto do_list = [args, with_tracker] {
    with_tracker([&](Tracker& t) -> int {
      auto list = t.ListExperiments(args->all);
      if (!list.ok()) return Fail(list.status());
      if (args->json) {
        PrintJson(ExperimentListJson(*list));
        return kExitOk;
      }
      for (const Experiment& e : *list) {
        std::cout << e.id << "\t" << e.name << "\t" << e.runs << (e.runs == 1 ? " run" : " runs")
                  << (e.deleted ? "\t[deleted]" : "") << "\n";
      }
      return kExitOk;
    });
  };
  list->callback(do_list);
  struct Verb {
    const char* name;
    const char* help;
    size_t arity;
  };
  for (Verb v : {Verb{"create", "Create an experiment", 1}, Verb{"rename", "Rename an experiment: OLD NEW", 2},
                 Verb{"delete", "Delete an experiment (its runs are kept)", 1},
                 Verb{"restore", "Restore a deleted experiment", 1}}) {
    auto* sub = cmd->add_subcommand(v.name, v.help);
    sub->add_option("NAME", args->names, v.arity == 2 ? "OLD NEW" : "Experiment name")
        ->required()
        ->expected(static_cast<int>(v.arity));
    std::string verb = v.name;
    sub->callback([args, with_tracker, verb] {
      with_tracker([&](Tracker& t) -> int {
        const auto& n = args->names;
        Status s;
        if (verb == "create") {
          auto e = t.CreateExperiment(n[0]);
          s = e.status();
          if (s.ok()) std::cout << "created experiment " << e->name << " (id " << e->id << ")\n";
        } else if (verb == "rename") {
          s = t.RenameExperiment(n[0], n[1]);
          if (s.ok()) std::cout << "renamed experiment " << n[0] << " to " << n[1] << "\n";
        } else if (verb == "delete") {
          s = t.DeleteExperiment(n[0]);
          if (s.ok()) std::cout << "deleted experiment " << n[0] << "\n";
        } else {
          s = t.RestoreExperiment(n[0]);
          if (s.ok()) std::cout << "restored experiment " << n[0] << "\n";
        }
        return s.ok() ? kExitOk : Fail(s);
      });
    });
  }
  cmd->callback([cmd, do_list] {
    if (cmd->get_subcommands().empty()) do_list();
  });
}

}  // namespace cairn::cli
