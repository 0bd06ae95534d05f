// cairn gate NAME@V, and the gated subcommands of `cairn model`: promote
// and history. The registry's `model` command is made by RegisterModel
// (src/cli/model.cc); RegisterModelGates adds to it, so it must come after
// RegisterModel in main.cc's table.
#include <iostream>
#include <string>
#include <vector>

#include "cairn/gate.h"
#include "cli/command.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

std::string Render(const GateReport& report, const std::string& format) {
  if (format == "json") return DumpJson(GateReportJson(report), 2) + "\n";
  if (format == "junit") return GateReportJUnit(report);
  if (format == "markdown") return GateReportMarkdown(report);
  return GateReportText(report);
}

// "2026-03-01 12:30:00 +0000" for a time in milliseconds.
std::string When(int64_t ms) { return FormatTime(ms / 1000); }

std::string Moved(const AliasEvent& e) {
  if (e.version == 0) return "deleted" + (e.previous ? " (was v" + std::to_string(e.previous) + ")" : std::string());
  std::string out = "v" + std::to_string(e.version);
  if (e.previous) out = "v" + std::to_string(e.previous) + " -> " + out;
  return out;
}

std::string Verb(const AliasEvent& e) {
  if (e.action == "model.promote") return e.forced ? "promoted (forced)" : "promoted";
  if (e.action == "model.alias.delete") return "deleted";
  return "moved";
}

CLI::App* FindSubcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

void RegisterPromote(CLI::App& model, Context& ctx) {
  auto* cmd = model.add_subcommand("promote", "Run a version's gates and move an alias to it when they pass");
  cmd->footer(
      "Evaluates the gates cairn.yaml declares for the model (models: NAME: gates, and\n"
      "alias_gates: ALIAS for this alias), prints each rule with what it observed, and moves\n"
      "ALIAS only when every rule passes. The gate results and the move are appended to the\n"
      "audit log. Two promotions at once run one after the other.\n"
      "--force moves the alias although a rule failed; it needs --reason, and the override is\n"
      "audited (a 'force' entry, and forced: true on the promotion).\n"
      "A deprecated version is refused before any gate runs.\n"
      "Exit: 0 moved, 1 a rule failed (nothing moved), 2 error.\n"
      "Examples:\n"
      "  cairn model promote retriever@3 --to production\n"
      "  cairn model promote retriever@3 --to production --force --reason \"hotfix for INC-42\"");
  struct Args {
    std::string ref, alias, reason;
    bool force = false, json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("ref", a->ref, "The version: NAME@V (model:NAME@3, NAME@staging …)")->required();
  cmd->add_option("--to", a->alias, "The alias to move (production, staging …)")->required();
  cmd->add_flag("--force", a->force, "Move the alias even when a gate fails (needs --reason)");
  cmd->add_option("--reason", a->reason, "Why: recorded in the audit log (required with --force)");
  cmd->add_flag("--json", a->json, "Print the result as JSON (doc/json.md, \"Promotion\")");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      PromoteOptions options;
      options.force = a->force;
      options.reason = a->reason;
      auto result = PromoteModel(**repo, a->ref, a->alias, options);
      if (!result.ok()) return Fail(result.status());
      std::string subject = result->report.model + "@" + std::to_string(result->report.version);
      if (a->json) {
        Json out = Json::object();
        out["moved"] = result->moved;
        out["forced"] = result->forced;
        out["alias"] = a->alias;
        out["model"] = result->report.model;
        out["version"] = result->report.version;
        out["audit_entry"] = result->moved ? Json(result->alias.audit_entry) : Json(nullptr);
        out["report"] = GateReportJson(result->report);
        PrintJson(out);
      } else {
        std::cout << GateReportText(result->report);
        if (result->moved) {
          std::cout << a->alias << " -> " << subject << (result->forced ? " (forced: " + a->reason + ")" : "")
                    << "\n";
        } else {
          std::cout << a->alias << " not moved: a gate failed\n";
        }
      }
      if (!result->moved) {
        std::cerr << "hint: fix what failed, or override with --force --reason \"…\" (audited)\n";
        return kExitNegative;
      }
      return kExitOk;
    });
  });
}

void RegisterHistory(CLI::App& model, Context& ctx) {
  auto* cmd = model.add_subcommand("history", "Which version held each alias of a model, who moved it and why");
  cmd->footer(
      "Every move of the model's aliases (model alias, model promote, alias deletions), oldest\n"
      "first, from the audit log: when, who, from which version to which, the reason, and\n"
      "whether gates were forced.\n"
      "--at TIME answers \"which version held the alias then\": per alias, the move in effect at\n"
      "TIME. TIME is a date (2026-03-01: the end of that day, UTC), a date and time\n"
      "(2026-03-01T12:30:00Z, or with +02:00; without a zone: UTC) or seconds since the epoch.\n"
      "Examples:\n"
      "  cairn model history retriever --alias production\n"
      "  cairn model history retriever --alias production --at 2026-03-01");
  struct Args {
    std::string model, alias, at;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("name", a->model, "The model")->required();
  cmd->add_option("--alias", a->alias, "Only this alias");
  auto* at_option = cmd->add_option("--at", a->at, "Only the moves in effect at TIME (see below)")->type_name("TIME");
  cmd->add_flag("--json", a->json, "Print the events as a JSON array (doc/json.md, \"Alias event\")");
  cmd->callback([&ctx, a, at_option] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      HistoryQuery query;
      query.alias = a->alias;
      if (at_option->count() > 0) {
        auto at = ParseHistoryTime(a->at);
        if (!at.ok()) return Fail(at.status());
        query.at_ms = *at;
      }
      auto events = ModelHistory(**repo, a->model, query);
      if (!events.ok()) return Fail(events.status());
      if (a->json) {
        Json out = Json::array();
        for (const AliasEvent& e : *events) out.push_back(AliasEventJson(e));
        PrintJson(out);
        return kExitOk;
      }
      if (events->empty()) {
        std::cout << (query.at_ms ? "no alias of " + a->model + " was set then" : "no alias of " + a->model + " has been set")
                  << (a->alias.empty() ? "" : " (alias " + a->alias + ")") << "\n";
        return kExitOk;
      }
      for (const AliasEvent& e : *events) {
        if (query.at_ms) {
          std::cout << e.alias << ": " << a->model << "@" << e.version << " since " << When(e.time_ms) << ", "
                    << Verb(e) << " by " << e.user;
        } else {
          std::cout << When(e.time_ms) << "  " << e.alias << "  " << Moved(e) << "  " << Verb(e) << " by " << e.user;
        }
        if (!e.host.empty()) std::cout << "@" << e.host;
        if (!e.reason.empty()) std::cout << ": " << e.reason;
        std::cout << "\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace

void RegisterGate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("gate", "Evaluate a model version's promotion gates (for CI)");
  cmd->footer(
      "Evaluates every rule cairn.yaml declares for the model (models: NAME: gates, and with\n"
      "--to ALIAS the alias_gates of ALIAS) and prints each with the values it observed:\n"
      "  metrics.mrr 0.65 >= 0.70: FAIL\n"
      "A rule naming a metric the version lacks fails (\"metrics.mrr missing\"); a comparison\n"
      "with an alias no version holds passes (\"no version holds production\") when the alias\n"
      "is the --to target, is under alias_gates or was set before; a never-set alias fails.\n"
      "A models: section without this model warns (a mistyped name?); promote refuses then.\n"
      "Formats: text, json, junit (JUnit XML for CI test reports), markdown (a table for a\n"
      "pull-request comment). The results are appended to the audit log unless --no-record.\n"
      "Exit: 0 every rule passed, 1 a rule failed, 2 error (bad ref, bad cairn.yaml …).\n"
      "Examples:\n"
      "  cairn gate retriever@3 --to production\n"
      "  cairn gate retriever@3 --format junit -o gate-report.xml");
  struct Args {
    std::string ref, alias, format = "text", out;
    bool no_record = false, force = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("ref", a->ref, "The version: NAME@V (model:NAME@3, NAME@latest, NAME@staging …)")->required();
  cmd->add_option("--to", a->alias, "The alias it would be promoted to (adds that alias's alias_gates)");
  cmd->add_option("--format", a->format, "text, json, junit or markdown")
      ->check(CLI::IsMember({"text", "json", "junit", "markdown"}));
  cmd->add_flag_callback("--json", [a] { a->format = "json"; }, "The same as --format json");
  cmd->add_option("-o,--output", a->out, "Write the report to FILE instead of stdout")->type_name("FILE");
  cmd->add_flag("--force", a->force, "With -o: replace FILE when it exists (a regular file only)");
  cmd->add_flag("--no-record", a->no_record, "Do not append the results to the audit log");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      if (!a->out.empty() && a->out != "-") {
        Status writable = CheckOutputFile(a->out, a->force);  // before the result is recorded
        if (!writable.ok()) return Fail(writable);
      }
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto report = EvaluateGates(**repo, a->ref, a->alias, !a->no_record);
      if (!report.ok()) return Fail(report.status());
      for (const std::string& w : report->warnings) std::cerr << "cairn: warning: " << w << "\n";
      std::string text = Render(*report, a->format);
      if (a->out.empty() || a->out == "-") {
        std::cout << text;
      } else {
        Status written = WriteFileAtomic(a->out, text, /*sync=*/false);
        if (!written.ok()) return Fail(written);
      }
      return report->passed() ? kExitOk : kExitNegative;
    });
  });
}

void RegisterModelGates(CLI::App& app, Context& ctx) {
  CLI::App* model = FindSubcommand(app, "model");
  if (model == nullptr) {
    model = app.add_subcommand("model", "The model registry");
    model->require_subcommand(1);
  }
  RegisterPromote(*model, ctx);
  RegisterHistory(*model, ctx);
}

}  // namespace cairn::cli
