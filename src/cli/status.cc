#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cairn/pipeline.h"
#include "cairn/json_pipeline.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterStatus(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("status", "Compare tracked paths with their pointer files");
  cmd->footer(
      "States: clean, modified (files added/modified/deleted), missing-from-workspace,\n"
      "missing-from-cache. Unchanged files are not re-read (stat cache).\n"
      "With a cairn.yaml, also lists pipeline stages that are stale and why ('cairn repro'\n"
      "brings them up to date); in --json they are entries with a \"stage\" key.");
  struct Args {
    std::vector<std::string> paths;
    bool exit_code = false, json = false, verbose = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("PATH", args->paths, "Limit to these tracked paths");
  cmd->add_flag("--exit-code", args->exit_code, "Exit 1 when anything is not clean");
  cmd->add_flag("-v,--verbose", args->verbose, "List changed files");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto statuses = GetStatus(**repo, args->paths, StatusOptions{ProgressWanted()});
      if (!statuses.ok()) return Fail(statuses.status());
      bool dirty = false;
      Json out = Json::array();
      for (const PathStatus& s : *statuses) {
        dirty |= s.state != TrackedState::kClean;
        if (args->json) {
          out.push_back(PathStatusJson(s));
          continue;
        }
        std::cout << s.tracked.path << ": " << TrackedStateName(s.state);
        if (s.state == TrackedState::kModified) {
          uint64_t added = 0, modified = 0, deleted = 0;
          for (const FileChange& c : s.changes) {
            (c.kind == FileChangeKind::kAdded ? added : c.kind == FileChangeKind::kDeleted ? deleted : modified)++;
          }
          std::cout << " (" << added << " added, " << modified << " modified, " << deleted << " deleted)";
        }
        std::cout << "\n";
        if (args->verbose) {
          for (const FileChange& c : s.changes) {
            char k = c.kind == FileChangeKind::kAdded ? 'A' : c.kind == FileChangeKind::kDeleted ? 'D' : 'M';
            std::cout << "    " << k << " " << c.path << "\n";
          }
        }
      }
      // Pipeline stages (only for a whole-workspace status).
      std::vector<StageStatus> stages;
      if (args->paths.empty() && std::filesystem::exists((*repo)->root() / kPipelineFile)) {
        auto st = PipelineStatus(**repo, ProgressWanted());
        if (!st.ok()) return Fail(st.status());
        stages = std::move(*st);
      }
      bool stale = false, unfetched = false;
      for (const StageStatus& st : stages) {
        stale |= st.stale;
        unfetched |= !st.unfetched.empty();
        if (args->json) {
          out.push_back(StageStatusToJson(st));
        } else if (st.stale) {
          std::cout << "stage " << st.name << ": stale (";
          for (size_t i = 0; i < st.reasons.size(); ++i) std::cout << (i ? "; " : "") << st.reasons[i];
          std::cout << ")\n";
        }
      }
      if (!args->json && unfetched) {
        std::cout << "hint: 'cairn pull' fetches the tracked data stages depend on; then 'cairn status' again\n";
      } else if (!args->json && stale) {
        std::cout << "hint: 'cairn repro' brings stale stages up to date\n";
      }
      dirty |= stale;
      if (args->json) {
        PrintJson(out);
      } else if (statuses->empty() && stages.empty()) {
        std::cout << "no tracked paths (track one with 'cairn add PATH')\n";
      } else if (dirty && !stale) {
        // Paths holding another cached version (after 'git checkout'): the
        // pointer moved, the data did not; 'cairn add' would be wrong there.
        bool other_dirty = false;
        for (const PathStatus& s : *statuses) {
          if (s.state == TrackedState::kClean) continue;
          if (!s.cached_version) {
            other_dirty = true;
            continue;
          }
          std::cout << "hint: " << s.tracked.path << " holds version " << s.cached_version->Hex().substr(0, 12)
                    << " from the cache, not the pointer's: 'cairn checkout " << s.tracked.path
                    << "' restores the pointer's version\n";
        }
        if (other_dirty) {
          std::cout << "hint: 'cairn add PATH' records changes; 'cairn checkout PATH' restores the pointer's version";
          bool missing = false;
          for (const PathStatus& s : *statuses) missing |= s.state == TrackedState::kMissingFromCache;
          std::cout << (missing ? "; 'cairn pull' downloads what the cache lacks\n" : "\n");
        }
      }
      return args->exit_code && dirty ? kExitNegative : kExitOk;
    });
  });
}

}  // namespace cairn::cli
