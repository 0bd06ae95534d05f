// cairn validate REF --suite FILE [--format text|json|junit] [-o FILE]
// cairn validate REF --infer
#include <iostream>

#include "cairn/validate.h"
#include "cli/command.h"
#include "util/file.h"

namespace cairn::cli {

void RegisterValidate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("validate", "Check tables against an expectation suite (Great Expectations' names)");
  cmd->footer(
      "REF is a dataset ref (data/raw, data/raw@v2 …) or a workspace file or directory; each\n"
      "tabular file in it (CSV, TSV, JSON Lines, Parquet) is validated, other files are skipped\n"
      "with a note. The suite is YAML (or a Great Expectations suite JSON):\n"
      "  expectations:\n"
      "    - expect_column_values_to_not_be_null: {column: age, mostly: 0.95}\n"
      "    - expect_column_values_to_be_between: {column: bmi, min_value: 10, max_value: 60}\n"
      "The supported expectations and the result are described in doc/data.md (\"Validation\").\n"
      "The result of each file is kept beside its blob (a derived object, kind validation, keyed\n"
      "by the suite's digest and the file's format) for gates and the UI, unless --no-store.\n"
      "--infer prints a proposed suite that the data passes (review it, then commit it).\n"
      "Exit: 0 every expectation passed, 1 one failed, 2 bad input (a bad suite names\n"
      "FILE:LINE:COLUMN).\n"
      "Examples:\n"
      "  cairn validate data/raw --suite suites/raw.yaml\n"
      "  cairn validate data/raw@v2 --suite suites/raw.yaml --format junit -o validation.xml\n"
      "  cairn validate data/raw --infer > suites/raw.yaml");
  struct Args {
    std::string ref, suite, format = "text", out;
    bool infer = false, no_store = false, force = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("ref", a->ref, "A dataset ref or a workspace file or directory")->required();
  cmd->add_option("--suite", a->suite, "The expectation suite (YAML)")->type_name("FILE");
  cmd->add_flag("--infer", a->infer, "Print a proposed suite (YAML) inferred from the data");
  cmd->add_option("--format", a->format, "text, json or junit")->check(CLI::IsMember({"text", "json", "junit"}));
  cmd->add_flag_callback("--json", [a] { a->format = "json"; }, "The same as --format json");
  cmd->add_flag("--no-store", a->no_store, "Do not keep the result beside the data");
  cmd->add_option("-o,--output", a->out, "Write the report (or the inferred suite) to FILE")->type_name("FILE");
  cmd->add_flag("--force", a->force, "With -o: replace FILE when it exists (a regular file only)");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      if (a->infer == !a->suite.empty()) {
        return Fail(Status::InvalidArgument(a->infer ? "--infer and --suite cannot be combined" : "no suite given",
                                            "give --suite FILE to validate, or --infer to propose a suite"));
      }
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!a->out.empty() && a->out != "-") {
        Status writable = CheckOutputFile(a->out, a->force);
        if (!writable.ok()) return Fail(writable);
      }
      auto write = [&](const std::string& text) {
        if (a->out.empty() || a->out == "-") {
          std::cout << text;
          return kExitOk;
        }
        Status written = WriteFileAtomic(a->out, text, /*sync=*/false);
        return written.ok() ? kExitOk : Fail(written);
      };
      // A suite error is the user's to fix first, before any data is read.
      Result<Suite> suite = Status::InvalidArgument("unset");
      if (!a->infer) {
        suite = LoadSuite(a->suite, a->suite);
        if (!suite.ok()) return Fail(suite.status());
      }
      auto tables = ResolveTables(**repo, a->ref);
      if (!tables.ok()) return Fail(tables.status());
      if (a->infer) {
        auto yaml = InferSuite(**repo, *tables);
        if (!yaml.ok()) return Fail(yaml.status());
        for (const TreeEntry& e : tables->skipped) std::cerr << "note: " << e.path << " is not tabular: skipped\n";
        return write(*yaml);
      }
      auto report = ValidateTables(**repo, *tables, *suite);
      if (!report.ok()) return Fail(report.status());
      if (!a->no_store) {
        Status stored = StoreValidation(**repo, &*report);
        if (!stored.ok()) std::cerr << "cairn: warning: the result was not stored: " << stored.message() << "\n";
      }
      if (a->format != "text") {
        for (const std::string& p : report->not_tabular) std::cerr << "note: " << p << " is not tabular: skipped\n";
      }
      std::string text = a->format == "json"    ? DumpJson(ValidationJson(*report), 2) + "\n"
                         : a->format == "junit" ? ValidationJUnit(*report)
                                                : ValidationText(*report);
      int written = write(text);
      if (written != kExitOk) return written;
      return report->success() ? kExitOk : kExitNegative;
    });
  });
}

}  // namespace cairn::cli
