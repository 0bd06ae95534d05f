// cairn runs: search, show, compare, log to, delete and restore runs.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <limits>
#include <set>

#include "cairn/dataset.h"
#include "cairn/json_tracking.h"
#include "cairn/run_compare.h"
#include "cli/runs_common.h"
#include "cairn/run_record.h"

namespace cairn::cli {
namespace {

// Characters (UTF-8 code points) in `s`: what a terminal column counts.
size_t Columns(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// A table cell at most `max` characters wide: longer text is cut (never
// inside a UTF-8 sequence) and ends in "…". Text tables only; --json keeps
// every value whole.
constexpr size_t kMaxCell = 40;
std::string Shorten(const std::string& s, size_t max = kMaxCell) {
  if (Columns(s) <= max) return s;
  size_t end = 0, kept = 0;
  while (end < s.size() && kept < max - 1) {
    ++end;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    ++kept;
  }
  return s.substr(0, end) + "…";
}

// Prints rows as columns separated by two spaces.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], Columns(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - Columns(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string Duration(const RunInfo& r) { return FormatRunDuration(r, NowMs()); }

// Keys of `field` across runs whose values are not all the same, plus `always`.
template <typename Get>
std::vector<std::string> DifferingKeys(const std::vector<RunInfo>& runs, Get get, const std::set<std::string>& always,
                                       bool all) {
  std::set<std::string> keys;
  for (const RunInfo& r : runs)
    for (const auto& [k, v] : get(r)) keys.insert(k);
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    std::set<std::string> values;
    size_t have = 0;
    for (const RunInfo& r : runs) {
      auto m = get(r);
      auto it = m.find(k);
      if (it != m.end()) {
        values.insert(it->second);
        ++have;
      }
    }
    if (all || always.count(k) || values.size() > 1 || (have < runs.size() && have > 0) || runs.size() == 1) {
      out.push_back(k);
    }
  }
  return out;
}

std::map<std::string, std::string> MetricStrings(const RunInfo& r) {
  std::map<std::string, std::string> out;
  for (const auto& [k, m] : r.metrics) out[k] = FormatMetric(m.value);
  return out;
}

// Keys named by filter and sort text ("metrics.acc" → acc), shown even when equal.
std::set<std::string> MentionedKeys(const std::string& text, const std::string& prefix) {
  std::set<std::string> keys;
  for (size_t pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
    size_t start = pos + prefix.size();
    size_t end = start;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                 std::string_view("_-./:").find(text[end]) != std::string_view::npos)) {
      ++end;
    }
    if (end > start) keys.insert(text.substr(start, end - start));
  }
  return keys;
}

// The statuses --status names ("any" for all), or, when none is given, the
// default: a gate (--exit-code) considers only FINISHED runs.
Result<std::vector<RunStatus>> StatusesWanted(const std::vector<std::string>& names, bool gate) {
  std::vector<RunStatus> out;
  if (names.empty()) {
    if (gate) out.push_back(RunStatus::kFinished);
    return out;
  }
  for (const std::string& name : names) {
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "ANY") return std::vector<RunStatus>{};
    auto st = ParseRunStatus(upper);
    if (!st) {
      return Status::InvalidArgument("--status '" + name + "' is not a run status",
                                     "use RUNNING, FINISHED, FAILED, KILLED or any (repeatable)");
    }
    if (std::find(out.begin(), out.end(), *st) == out.end()) out.push_back(*st);
  }
  return out;
}

void PrintWarnings(const SearchResult& result) {
  for (const std::string& w : result.warnings) std::cerr << "cairn: warning: " << w << std::endl;
}

int ListRuns(const Context& ctx, const SearchOptions& opts, const std::vector<std::string>& status_names, bool json,
             bool exit_code, bool all_columns) {
  auto statuses = StatusesWanted(status_names, exit_code);
  if (!statuses.ok()) return Fail(statuses.status());
  std::unique_ptr<Repo> repo;
  auto tracker = OpenTracker(ctx, &repo);
  if (!tracker.ok()) return Fail(tracker.status());
  SearchOptions search = opts;
  search.statuses = *statuses;
  // One run more than shown tells whether more match, without counting them.
  const bool can_ask_more = opts.limit >= 0 && opts.limit < std::numeric_limits<int64_t>::max();
  if (can_ask_more) ++search.limit;
  auto result = (*tracker)->Search(search);
  if (!result.ok()) return Fail(result.status());
  PrintWarnings(*result);
  const bool more = can_ask_more && static_cast<int64_t>(result->runs.size()) > opts.limit;
  if (more) result->runs.resize(static_cast<size_t>(opts.limit));
  const auto& runs = result->runs;
  // On stderr, so that --json stays one valid document.
  if (more) {
    std::cerr << "cairn: showing " << (runs.empty() ? "no runs (--limit 0)" : "the first " + std::to_string(runs.size()) + " runs")
              << "; more match (--limit N shows N)" << std::endl;
  }
  if (json) {
    PrintJson(RunListJson(runs, RunDetail::kSummary));
  } else if (runs.empty()) {
    if (!more) std::cerr << "no runs match" << std::endl;
  } else {
    std::string mention = opts.filter;
    for (const std::string& s : opts.order_by) mention += " " + s;
    auto pkeys = DifferingKeys(runs, [](const RunInfo& r) { return r.params; },
                               MentionedKeys(mention, "params."), all_columns);
    auto mkeys = DifferingKeys(runs, MetricStrings, MentionedKeys(mention, "metrics."), true);
    auto tkeys = DifferingKeys(runs, [](const RunInfo& r) { return r.tags; }, MentionedKeys(mention, "tags."),
                               all_columns);
    std::erase_if(tkeys, [](const std::string& k) { return k.starts_with("cairn."); });
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"RUN", "NAME", "EXPERIMENT", "STATUS", "STARTED", "TIME"};
    for (const auto& k : pkeys) head.push_back("params." + k);
    for (const auto& k : mkeys) head.push_back("metrics." + k);
    for (const auto& k : tkeys) head.push_back("tags." + k);
    for (std::string& h : head) h = Shorten(h);
    rows.push_back(head);
    for (const RunInfo& r : runs) {
      std::vector<std::string> row = {r.id.substr(0, 8), r.name.empty() ? "-" : r.name, r.experiment,
                                      RunStatusName(r.status), FormatMs(r.start_ms), Duration(r)};
      auto ms = MetricStrings(r);
      for (const auto& k : pkeys) row.push_back(r.params.count(k) ? r.params.at(k) : "-");
      for (const auto& k : mkeys) row.push_back(ms.count(k) ? ms.at(k) : "-");
      for (const auto& k : tkeys) row.push_back(r.tags.count(k) ? r.tags.at(k) : "-");
      for (std::string& cell : row) cell = Shorten(cell);
      rows.push_back(std::move(row));
    }
    PrintTable(rows);
  }
  if (exit_code && runs.empty()) return kExitNegative;
  return kExitOk;
}

void PrintRun(const RunInfo& r) {
  std::cout << "run " << r.id << (r.name.empty() ? "" : "  (" + r.name + ")") << "\n";
  std::cout << "  experiment  " << r.experiment << "\n";
  std::cout << "  status      " << RunStatusName(r.status)
            << (r.exit_code ? " (exit " + std::to_string(*r.exit_code) + ")" : "") << (r.deleted ? "  [deleted]" : "")
            << "\n";
  std::cout << "  started     " << FormatMs(r.start_ms) << "  by " << r.user << "\n";
  std::cout << "  duration    " << Duration(r) << "\n";
  if (!r.command.empty()) std::cout << "  command     " << r.command << "\n";
  if (!r.cwd.empty() && r.cwd != ".") std::cout << "  cwd         " << r.cwd << "\n";
  if (r.record) std::cout << "  record      " << r.record->ToString() << "\n";
  auto section = [](const char* title, const std::map<std::string, std::string>& kv) {
    if (kv.empty()) return;
    std::cout << title << "\n";
    for (const auto& [k, v] : kv) std::cout << "  " << k << " = " << v << "\n";
  };
  section("params", r.params);
  if (!r.metrics.empty()) {
    std::cout << "metrics\n";
    for (const auto& [k, m] : r.metrics) {
      std::cout << "  " << k << " = " << FormatMetric(m.value) << "  (step " << m.step << ")\n";
    }
  }
  section("tags", r.tags);
  if (!r.inputs.empty()) {
    std::cout << "inputs\n";
    for (const RunInput& in : r.inputs) std::cout << "  " << DescribeRunInput(in) << "\n";
  }
  if (!r.artifacts.empty()) {
    std::cout << "artifacts\n";
    for (const RunArtifact& a : r.artifacts) std::cout << "  " << a.path << "  " << Human(a.size) << "\n";
  }
  std::map<std::string, std::string> code, env;
  for (const auto& [k, v] : r.env) {
    if (k.starts_with("python.packages.")) continue;
    (k.starts_with("git.") ? code : env)[k] = v;
  }
  section("code", code);
  section("environment", env);
  size_t packages = std::count_if(r.env.begin(), r.env.end(), [](const auto& kv) {
    return kv.first.starts_with("python.packages.");
  });
  if (packages) std::cout << "  python.packages: " << packages << " (see --json)\n";
}

int PrintComparison(const Context& ctx, const std::vector<std::string>& ids, bool json, bool all) {
  std::unique_ptr<Repo> repo;
  auto tracker = OpenTracker(ctx, &repo);
  if (!tracker.ok()) return Fail(tracker.status());
  CompareOptions options;
  options.include_equal_env = all;
  options.include_system_tags = all;
  auto comparison = CompareRuns(**tracker, ids, options);
  if (!comparison.ok()) return Fail(comparison.status());
  if (json) {
    PrintJson(RunComparisonJson(*comparison));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head = {"", ""};
  for (const std::string& id : comparison->runs) head.push_back(id.substr(0, 8));
  table.push_back(head);
  for (const CompareRow& row : comparison->rows) {
    std::vector<std::string> line = {row.differs ? "*" : " ", row.section + "." + row.key};
    for (const std::string& v : row.values) line.push_back(Shorten(v));
    table.push_back(std::move(line));
  }
  PrintTable(table);
  std::cout << "(* marks values that differ";
  if (const int64_t tags = comparison->hidden_tag_rows; tags) {
    std::cout << "; " << comparison->hidden_rows << " rows hidden (" << comparison->hidden_rows - tags
              << " equal env, " << tags << " cairn.*/mlflow.* tags), --all shows them";
  } else if (comparison->hidden_rows) {
    std::cout << "; " << comparison->hidden_rows << " equal env rows hidden, --all shows them";
  }
  std::cout << ")\n";
  return kExitOk;
}

int LogToRun(const Context& ctx, const std::string& run_arg, const std::vector<std::string>& params,
             const std::vector<std::string>& metrics, const std::vector<std::string>& tags,
             const std::vector<std::string>& artifacts, const std::vector<std::string>& inputs) {
  std::unique_ptr<Repo> repo;
  auto tracker = OpenTracker(ctx, &repo);
  if (!tracker.ok()) return Fail(tracker.status());
  Tracker& t = **tracker;
  auto id = t.ResolveRunId(RunOrEnv(run_arg));
  if (!id.ok()) return Fail(id.status());
  if (params.empty() && metrics.empty() && tags.empty() && artifacts.empty() && inputs.empty()) {
    return Fail(Status::InvalidArgument("nothing to log", "give --param, --metric, --tag, --artifact or --input"));
  }
  // Parse everything before writing anything.
  auto p = ParseKeyValues(params, "--param");
  if (!p.ok()) return Fail(p.status());
  auto tg = ParseKeyValues(tags, "--tag");
  if (!tg.ok()) return Fail(tg.status());
  std::vector<MetricPoint> points;
  for (const std::string& m : metrics) {
    auto kv = ParseKeyValue(m, "--metric");
    if (!kv.ok()) return Fail(kv.status());
    std::string value = kv->second;
    int64_t step = 0;
    size_t at = value.rfind('@');
    if (at != std::string::npos) {
      std::string s = value.substr(at + 1);
      char* end = nullptr;
      step = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end) {
        return Fail(Status::InvalidArgument("--metric " + m + ": step '" + s + "' is not an integer",
                                            "example: --metric loss=0.25@100"));
      }
      value = value.substr(0, at);
    }
    auto v = ParseMetricValue(value);
    if (!v) {
      return Fail(Status::InvalidArgument("--metric " + m + ": '" + value + "' is not a number",
                                          "example: --metric acc=0.93 (nan and inf are accepted)"));
    }
    points.push_back(MetricPoint{kv->first, *v, step, NowMs()});
  }
  if (!p->empty()) {
    Status s = t.LogParams(*id, *p);
    if (!s.ok()) return Fail(s);
  }
  if (!points.empty()) {
    Status s = t.LogMetrics(*id, points);
    if (!s.ok()) return Fail(s);
  }
  if (!tg->empty()) {
    Status s = t.SetTags(*id, *tg);
    if (!s.ok()) return Fail(s);
  }
  for (const std::string& ref : inputs) {
    auto in = t.AddInput(*id, ref);
    if (!in.ok()) return Fail(in.status());
  }
  for (const std::string& a : artifacts) {
    // PATH or PATH:ARTIFACT_PATH
    std::string src = a, dest;
    size_t colon = a.find(':');
    if (colon != std::string::npos) {
      src = a.substr(0, colon);
      dest = a.substr(colon + 1);
    }
    auto arts = t.LogArtifact(*id, src, dest);
    if (!arts.ok()) return Fail(arts.status());
  }
  std::cout << "logged to run " << *id << "\n";
  return kExitOk;
}

}  // namespace

void RegisterRuns(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("runs", "List, search, show and compare experiment runs");
  cmd->footer(
      "  cairn runs --where \"metrics.acc > 0.9 and (params.k = '3' or params.k = '5')\" --sort 'metrics.acc DESC'\n"
      "  cairn runs show 3f2a9c        cairn runs compare 3f2a9c 8b1d07\n"
      "  cairn runs log --metric loss=0.31@200 --param lr=0.01   (inside 'cairn run': no --run needed)\n"
      "Filter keys: metrics.K params.K tags.K datasets.NAME attributes.{status,run_name,run_id,start_time,\n"
      "end_time,user}; operators = != < <= > >= LIKE ILIKE IN NOT IN; and, or, parentheses.\n"
      "--exit-code exits 1 when no FINISHED run matches (a promotion gate for CI; --status chooses others).");
  struct Args {
    std::vector<std::string> experiments, sort, statuses;
    std::string where;
    int64_t limit = 50;
    bool json = false, deleted = false, all = false, exit_code = false, wide = false;
    std::string run;
    std::vector<std::string> ids, params, metrics, tags, artifacts, inputs;
    std::string key;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("-e,--experiment", args->experiments, "Only runs of this experiment (repeatable)");
  cmd->add_option("-w,--where", args->where, "Filter, e.g. \"metrics.acc > 0.9 and params.model = 'knn'\"");
  cmd->add_option("-s,--sort", args->sort, "Order, e.g. 'metrics.acc DESC' (repeatable; default: newest first)");
  cmd->add_option("-n,--limit", args->limit, "Show at most N runs (default 50)");
  cmd->add_flag("--deleted", args->deleted, "Show deleted runs instead");
  cmd->add_flag("--all-columns", args->wide, "Show every param and tag, not only those that differ");
  cmd->add_option("--status", args->statuses,
                  "Only runs with this status: RUNNING, FINISHED, FAILED, KILLED or any (repeatable; "
                  "default: any, and FINISHED with --exit-code)");
  cmd->add_flag("--exit-code", args->exit_code, "Exit 1 when no run matches (only FINISHED runs count by default)");
  cmd->add_flag("--json", args->json, "Print the runs as JSON");
  cmd->require_subcommand(0, 1);

  auto* show = cmd->add_subcommand("show", "Show everything recorded about a run");
  show->add_option("RUN", args->run, "Run id (or a unique prefix, or its name)")->required();
  show->add_flag("--json", args->json, "Print the run as JSON");
  show->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      auto run = (*tracker)->GetRun(args->run);
      if (!run.ok()) return Fail(run.status());
      if (args->json) {
        PrintJson(RunJson(*run, RunDetail::kFull));
      } else {
        PrintRun(*run);
      }
      return kExitOk;
    });
  });

  auto* compare = cmd->add_subcommand("compare", "Compare runs side by side, marking differences");
  compare->add_option("RUNS", args->ids, "Two or more runs")->required();
  compare->add_flag("--all", args->all, "Also show environment rows that are equal");
  compare->add_flag("--json", args->json, "Print the comparison as JSON");
  compare->callback([&ctx, args] { Run(ctx, [&] { return PrintComparison(ctx, args->ids, args->json, args->all); }); });

  auto* log = cmd->add_subcommand("log", "Log params, metrics, tags, artifacts or inputs to a run");
  log->add_option("--run", args->run, "Run id (default: $CAIRN_RUN_ID, set by 'cairn run')");
  log->add_option("-p,--param", args->params, "KEY=VALUE; params are write-once");
  log->add_option("-m,--metric", args->metrics, "KEY=VALUE or KEY=VALUE@STEP");
  log->add_option("-t,--tag", args->tags, "KEY=VALUE; tags may change");
  log->add_option("-a,--artifact", args->artifacts, "PATH or PATH:ARTIFACT_PATH (file or directory in the repo)");
  log->add_option("-i,--input", args->inputs, "A dataset version the run read, e.g. data/raw@v1");
  log->callback([&ctx, args] {
    Run(ctx, [&] {
      return LogToRun(ctx, args->run, args->params, args->metrics, args->tags, args->artifacts, args->inputs);
    });
  });

  auto* history = cmd->add_subcommand("history", "Print every logged point of one metric");
  history->add_option("RUN", args->run, "Run id")->required();
  history->add_option("KEY", args->key, "Metric key")->required();
  history->add_flag("--json", args->json, "Print the points as JSON");
  history->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      auto points = (*tracker)->MetricHistory(args->run, args->key);
      if (!points.ok()) return Fail(points.status());
      if (args->json) {
        PrintJson(MetricHistoryJson(*points));
        return kExitOk;
      }
      for (const MetricPoint& p : *points) {
        // Full precision (shortest round-trip form), as doc/tracking.md says.
        std::cout << p.step << "\t" << FormatMetricValue(p.value) << "\t" << FormatMs(p.timestamp_ms) << "\n";
      }
      return kExitOk;
    });
  });

  for (bool del : {true, false}) {
    auto* sub = cmd->add_subcommand(del ? "delete" : "restore", del ? "Mark runs deleted (hidden from searches)"
                                                                   : "Bring deleted runs back");
    sub->add_option("RUNS", args->ids, "Runs")->required();
    sub->callback([&ctx, args, del] {
      Run(ctx, [&]() -> int {
        std::unique_ptr<Repo> repo;
        auto tracker = OpenTracker(ctx, &repo);
        if (!tracker.ok()) return Fail(tracker.status());
        for (const std::string& id : args->ids) {
          auto full = (*tracker)->ResolveRunId(id);
          if (!full.ok()) return Fail(full.status());
          Status s = del ? (*tracker)->DeleteRun(*full) : (*tracker)->RestoreRun(*full);
          if (!s.ok()) return Fail(s);
          std::cout << (del ? "deleted run " : "restored run ") << *full << "\n";
        }
        return kExitOk;
      });
    });
  }

  cmd->callback([&ctx, args, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    Run(ctx, [&] {
      SearchOptions opts;
      opts.experiments = args->experiments;
      opts.filter = args->where;
      opts.order_by = args->sort;
      opts.limit = args->limit;
      opts.deleted_only = args->deleted;
      return ListRuns(ctx, opts, args->statuses, args->json, args->exit_code, args->wide);
    });
  });
}

}  // namespace cairn::cli
