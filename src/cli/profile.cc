// cairn profile REF: what the tables REF names look like (cairn/profile.h
// does the work, once per blob; this file parses and prints).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cairn/profile.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterProfile(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("profile", "Profile the tables of a dataset version or workspace path");
  cmd->footer(
      "Per tabular file (CSV, TSV, JSON Lines, Parquet): the row count and, per column, the\n"
      "inferred type, nulls, distinct values, min / max / mean / std, quantiles p1..p99, the\n"
      "most frequent values and a 20-bin histogram. Exact for small columns; past 10,000\n"
      "distinct or 100,000 values, sketches with a documented error (marked ~; doc/data.md,\n"
      "'Profiles'). A profile is computed once per file content and stored beside the data:\n"
      "push and pull carry it, and the next 'cairn profile' or 'cairn show REF --profile'\n"
      "reads it back. Files that are not tables are listed as skipped.\n"
      "Exit: 0 profiled, 2 error (unknown ref, no table, malformed file: the message names the line).\n"
      "Examples:\n"
      "  cairn profile data/iris@v1\n"
      "  cairn profile data/raw --column age --column bmi --json");
  struct Args {
    std::string ref;
    std::vector<std::string> columns;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF", args->ref, "A dataset ref (NAME, NAME@TAG, NAME@OID) or a workspace file or directory")
      ->required();
  cmd->add_option("--column", args->columns, "Show only this column (repeatable)")
      ->allow_extra_args(false)
      ->type_name("C");
  cmd->add_flag("--json", args->json, "Print the result as JSON (doc/json.md, 'profile report')");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      ProfileOptions options;
      options.columns = args->columns;
      auto report = ProfileRef(**repo, args->ref, options);
      if (!report.ok()) return Fail(report.status());
      if (args->json) {
        PrintJson(ProfileReportJson(*report));
      } else {
        std::cout << ProfileReportText(*report);
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
