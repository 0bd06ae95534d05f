// cairn model check-signature: compares a model version's input schema
// with data. Added to the registry's `model` command (src/cli/model.cc).
#include <iostream>

#include "cairn/model_signature.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

void PrintCheck(const SignatureCheck& c) {
  std::cout << "model " << c.model << "@" << c.version << " against " << c.data_ref << " ("
            << c.actual.signature.source << ", " << c.actual.rows << " row(s) sampled"
            << (c.actual.complete ? "" : ", more not read") << "): " << (c.matches() ? "MATCH" : "MISMATCH") << "\n";
  for (const SignatureColumn& m : c.missing) std::cout << "  missing   " << m.name << " (" << m.type << ")\n";
  for (const SignatureColumn& e : c.extra) {
    std::cout << "  extra     " << e.name << " (" << e.type << ")" << (c.allow_extra ? "  allowed" : "") << "\n";
  }
  for (const SignatureColumnChange& r : c.retyped) {
    std::cout << "  retyped   " << r.name << ": expected " << r.expected << ", data has " << r.actual << "\n";
  }
  for (const SignatureColumnChange& r : c.compatible) {
    std::cout << "  accepted  " << r.name << ": expected " << r.expected << ", data has " << r.actual << " ("
              << r.rule << (r.rule == "integer-as-number" ? ": every integer is a number" : ": no values sampled")
              << ")\n";
  }
  if (c.matches() && c.missing.empty() && c.extra.empty() && c.retyped.empty() && c.compatible.empty()) {
    std::cout << "  " << c.expected.columns.size() << " column(s), names and types equal\n";
  }
}

}  // namespace

void RegisterModelSignature(CLI::App& app, Context& ctx) {
  CLI::App* model = app.get_subcommand("model");
  auto* cmd = model->add_subcommand("check-signature", "Compare a model version's input schema with data");
  cmd->footer(
      "  cairn model check-signature retriever@production eval@v4\n"
      "  cairn model check-signature retriever@3 data/new_batch.csv --json\n"
      "DATA is a workspace file or directory (its first .csv/.tsv/.jsonl/.parquet file), else a dataset ref.\n"
      "Columns match by name. Integer data where number is expected is accepted; a column with no\n"
      "values in the sample is accepted whatever its type. Exit 0 match, 1 mismatch, 2 error.");
  struct Args {
    std::string model, data;
    bool json = false, allow_extra = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("MODEL", args->model, "NAME@VERSION or NAME@ALIAS")->required();
  cmd->add_option("DATA", args->data, "A dataset ref (name@tag) or a workspace path")->required();
  cmd->add_flag("--allow-extra", args->allow_extra, "Columns the signature lacks do not make a mismatch");
  cmd->add_flag("--json", args->json, "Print the comparison as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto check = CheckSignature(**repo, args->model, args->data, args->allow_extra);
      if (!check.ok()) return Fail(check.status());
      if (args->json) {
        PrintJson(SignatureCheckJson(*check));
      } else {
        PrintCheck(*check);
      }
      return check->matches() ? kExitOk : kExitNegative;
    });
  });
}

}  // namespace cairn::cli
