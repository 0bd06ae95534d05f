// cairn repro, cairn stage add|list, cairn dag.
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string_view>

#include "cairn/json_pipeline.h"
#include "cairn/pipeline.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

// Writes all of `data`; a closed output is not an error here.
void WriteAll(int fd, std::string_view data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

}  // namespace

void RegisterRepro(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("repro", "Run the pipeline stages that are stale (cairn.yaml)");
  cmd->footer(
      "A stage is stale when its command, a dependency's content or a param value differs from\n"
      "cairn.lock, or an output is missing or modified. Stale stages run in dependency order,\n"
      "independent ones in parallel with -j. When the same command, dependencies and params ran\n"
      "before (in any branch), the outputs are restored from the cache instead (the run cache).\n"
      "Each execution is a tracked run (experiment 'pipeline'); outputs become dataset versions.\n"
      "A failed stage stops what depends on it and leaves its outputs and cairn.lock unchanged.");
  auto opts = std::make_shared<ReproOptions>();
  auto json = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("stages", opts->stages, "Stages to bring up to date, with what they need (default: all)");
  cmd->add_flag("-f,--force", opts->force, "Run even when up to date, bypassing the run cache");
  cmd->add_flag("-n,--dry-run", opts->dry_run, "Only say what would run or be restored");
  cmd->add_option("-j,--jobs", opts->jobs, "Stages to run at once")->check(CLI::Range(1, 64));
  cmd->add_flag("--downstream", opts->downstream, "The named stages and every stage after them");
  cmd->add_flag("-q,--quiet", *quiet, "Do not pass the commands' standard output through");
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->callback([&ctx, opts, json, quiet] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      opts->progress = ProgressWanted();
      // Stages report from their threads: each write is one chunk.
      const bool pass_stdout = !*quiet && !*json;
      if (!*quiet && !*json) {
        opts->on_stage_start = [](const std::string& stage, const std::string& command) {
          std::string line = "cairn: running stage " + stage + ": " + command + "\n";
          WriteAll(STDERR_FILENO, line);
        };
      }
      opts->on_output = [pass_stdout](const std::string&, OutputStream which, std::string_view data) {
        if (which == OutputStream::kStderr) {
          WriteAll(STDERR_FILENO, data);
        } else if (pass_stdout) {
          WriteAll(STDOUT_FILENO, data);
        }
      };
      opts->on_warning = [](const Status& warning) {
        WriteAll(STDERR_FILENO, "cairn: warning: " + warning.message() + "\n");
      };
      auto report = Repro(**repo, *opts);
      if (!report.ok()) return Fail(report.status());
      Json out = Json::array();
      for (const StageOutcome& o : report->stages) {
        if (*json) {
          out.push_back(StageOutcomeToJson(o));
          continue;
        }
        std::cout << "stage " << o.name << ": " << StageOutcomeName(o.kind);
        if (!o.reasons.empty() && o.kind != StageOutcomeKind::kUpToDate) {
          std::cout << " (";
          for (size_t i = 0; i < o.reasons.size(); ++i) std::cout << (i ? "; " : "") << o.reasons[i];
          std::cout << ")";
        }
        if (!o.run.empty()) std::cout << " run " << o.run.substr(0, 8);
        std::cout << "\n";
        if (o.kind == StageOutcomeKind::kFailed) {
          std::cerr << "cairn: error: stage " << o.name << " failed: " << o.error << "\n";
          if (!o.stderr_tail.empty()) {
            std::cerr << "--- last lines of its stderr ---\n" << o.stderr_tail;
            if (o.stderr_tail.back() != '\n') std::cerr << "\n";
          }
          std::cerr << "hint: fix it and run 'cairn repro' again; the outputs and cairn.lock of '" << o.name
                    << "' were left as they were\n";
        }
      }
      if (*json) PrintJson(out);
      if (!*json && !opts->dry_run && !report->failed) {
        bool changed = false;
        for (const StageOutcome& o : report->stages) {
          changed |= o.kind == StageOutcomeKind::kRan || o.kind == StageOutcomeKind::kRestored;
        }
        if (changed) std::cout << "commit cairn.lock and the outputs' pointer files to record this state\n";
      }
      return report->failed ? kExitError : kExitOk;
    });
  });
}

void RegisterStage(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("stage", "Declare pipeline stages in cairn.yaml");
  cmd->require_subcommand(1);
  auto* add = cmd->add_subcommand("add", "Add (or with --force replace) a stage");
  add->footer("Example:\n  cairn stage add train --cmd 'python3 train.py' -d train.py -d data/prepared \\\n"
              "      -p train.k -o models/model.bin -m metrics.json");
  struct Args {
    StageSpec stage;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  add->add_option("name", a->stage.name, "Stage name")->required();
  add->add_option("--cmd,-c", a->stage.cmd, "Command (run by /bin/sh in the repository root; ${key} takes a param)")
      ->required();
  add->add_option("-d,--dep", a->stage.deps, "Dependency: a path or a dataset ref (repeatable)");
  add->add_option("-o,--out", a->stage.outs, "Output path, tracked as a dataset (repeatable)");
  add->add_option("-p,--param", a->stage.params, "Param key of the params file, dotted (repeatable)");
  add->add_option("-m,--metrics", a->stage.metrics, "JSON metrics file the command writes (repeatable)");
  add->add_flag("-f,--force", a->force, "Replace a stage of the same name");
  add->callback([&ctx, a] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      // Paths are given relative to the current directory, like everywhere else.
      for (auto* list : {&a->stage.deps, &a->stage.outs, &a->stage.metrics}) {
        for (std::string& p : *list) {
          if (p.find('@') != std::string::npos) continue;
          auto rel = (*repo)->RelativePath(p);
          if (!rel.ok()) return Fail(rel.status());
          p = *rel;
        }
      }
      Status s = AddStage(**repo, a->stage, a->force);
      if (s.code() == Code::kAlreadyExists) return Fail(Status::AlreadyExists(s.message(), "use --force to replace it"));
      if (!s.ok()) return Fail(s);
      std::cout << "stage " << a->stage.name << " written to cairn.yaml\n";
      return kExitOk;
    });
  });
  auto* list = cmd->add_subcommand("list", "List stages in dependency order");
  auto json = std::make_shared<bool>(false);
  list->add_flag("--json", *json, "Print as JSON");
  list->callback([&ctx, json] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto spec = LoadPipeline(**repo);
      if (!spec.ok()) return Fail(spec.status());
      Json out = Json::array();
      for (const std::string& n : spec->order) {
        const StageSpec& s = *spec->Find(n);
        if (*json) {
          out.push_back({{"name", s.name}, {"cmd", s.cmd}, {"deps", s.deps}, {"params", s.params},
                         {"outs", s.outs}, {"metrics", s.metrics}, {"after", spec->upstream.at(n)}});
        } else {
          std::cout << s.name << "\t" << s.cmd << "\n";
        }
      }
      if (*json) PrintJson(out);
      return kExitOk;
    });
  });
}

void RegisterDag(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("dag", "Show the stage graph of cairn.yaml");
  auto format = std::make_shared<std::string>("text");
  cmd->add_flag_callback("--dot", [format] { *format = "dot"; }, "Graphviz");
  cmd->add_flag_callback("--json", [format] { *format = "json"; }, "JSON: stages and edges");
  cmd->add_flag_callback("--mermaid", [format] { *format = "mermaid"; }, "Mermaid flowchart");
  cmd->callback([&ctx, format] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto spec = LoadPipeline(**repo);
      if (!spec.ok()) return Fail(spec.status());
      std::vector<std::pair<std::string, std::string>> edges;
      for (const std::string& n : spec->order) {
        for (const std::string& u : spec->upstream.at(n)) edges.emplace_back(u, n);
      }
      if (*format == "json") {
        Json stages = Json::array(), es = Json::array();
        for (const std::string& n : spec->order) {
          const StageSpec& s = *spec->Find(n);
          stages.push_back({{"name", n}, {"deps", s.deps}, {"outs", s.outs}});
        }
        for (const auto& [from, to] : edges) es.push_back({{"from", from}, {"to", to}});
        PrintJson({{"stages", stages}, {"edges", es}});
      } else if (*format == "dot") {
        std::cout << "digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n";
        for (const std::string& n : spec->order) std::cout << "  \"" << n << "\";\n";
        for (const auto& [from, to] : edges) std::cout << "  \"" << from << "\" -> \"" << to << "\";\n";
        std::cout << "}\n";
      } else if (*format == "mermaid") {
        std::cout << "flowchart LR\n";
        for (const std::string& n : spec->order) std::cout << "  " << n << "[" << n << "]\n";
        for (const auto& [from, to] : edges) std::cout << "  " << from << " --> " << to << "\n";
      } else {
        for (const std::string& n : spec->order) {
          const auto& up = spec->upstream.at(n);
          std::cout << n;
          if (!up.empty()) {
            std::cout << "  <- ";
            for (size_t i = 0; i < up.size(); ++i) std::cout << (i ? ", " : "") << up[i];
          }
          std::cout << "\n";
        }
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
