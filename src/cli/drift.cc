// cairn drift REF_A REF_B: whether the data drifted between two versions
// (cairn/drift.h does the work; this file parses and prints).
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/drift.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterDrift(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("drift", "Test whether the data's distribution drifted between two versions");
  cmd->footer(
      "Compares each column of A (the reference) with B: per column the method, its statistic,\n"
      "the p-value where the method has one, the threshold and whether the column drifted. The\n"
      "dataset drifts when the share of drifted columns reaches --share. REF_A and REF_B are\n"
      "dataset refs (NAME@TAG, NAME@OID) or workspace files and directories; files pair by path.\n"
      "Methods (defaults as Evidently's): with at most 1000 values in A, numeric columns with\n"
      "more than 5 distinct values use ks (drift at p <= 0.05), others chi2 (p < 0.05), binary\n"
      "ones z (p < 0.05); with more, numeric columns use wasserstein (distance / A's std >= 0.1)\n"
      "and the rest jensenshannon (>= 0.1). psi (>= 0.1) on demand. doc/data.md has the details.\n"
      "Exit: 0 no dataset drift, 1 the dataset drifted, 2 error (bad ref, column or option).\n"
      "Examples:\n"
      "  cairn drift data/iris@v1 data/iris@v2\n"
      "  cairn drift data/iris@v1 new_batch.csv --column petal_length --method psi --json");
  struct Args {
    std::string a, b, method = "auto", format = "text";
    std::vector<std::string> columns;
    std::optional<double> threshold;
    double share = 0.5;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("ref_a", args->a, "The reference: a dataset ref or a workspace path")->required();
  cmd->add_option("ref_b", args->b, "The current data: a dataset ref or a workspace path")->required();
  cmd->add_option("--column", args->columns, "Compare this column (repeatable; default: every common column)")
      ->allow_extra_args(false)
      ->type_name("C");
  cmd->add_option("--method", args->method, "auto, ks, chi2, z, psi, wasserstein or jensenshannon (default auto)")
      ->type_name("M");
  cmd->add_option("--threshold", args->threshold, "Drift threshold for every column (default: the method's)")
      ->type_name("X");
  cmd->add_option("--share", args->share, "Share of drifted columns at which the dataset drifts (default 0.5)")
      ->type_name("S");
  cmd->add_option("--format", args->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag_callback("--json", [args] { args->format = "json"; }, "The same as --format json");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      DriftOptions options;
      std::optional<DriftMethod> method = ParseDriftMethod(args->method);
      if (!method) {
        return Fail(Status::InvalidArgument("unknown --method '" + args->method + "'",
                                            "choose auto, ks, chi2, z, psi, wasserstein or jensenshannon"));
      }
      options.method = *method;
      options.columns = args->columns;
      options.threshold = args->threshold;
      options.share = args->share;
      Status valid = ValidateDriftOptions(options);
      if (!valid.ok()) return Fail(valid);
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto report = Drift(**repo, args->a, args->b, options);
      if (!report.ok()) return Fail(report.status());
      if (args->format == "json") {
        PrintJson(DriftJson(*report));
      } else {
        std::cout << DriftText(*report);
      }
      return report->drifted ? kExitNegative : kExitOk;
    });
  });
}

}  // namespace cairn::cli
