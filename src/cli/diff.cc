#include <iostream>
#include <sstream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cairn/row_diff.h"
#include "cli/command.h"
#include "cli/row_diff_print.h"

namespace cairn::cli {
namespace {

struct RowArgs {
  bool rows = false, stat = false;
  std::string key, columns, format = "text";
  int64_t limit = 20;
  double tolerance = 0;
};

int RowDiffCommand(Context& ctx, const std::vector<std::string>& refs, const RowArgs& a, bool json) {
  auto repo = OpenRepo(ctx);
  if (!repo.ok()) return Fail(repo.status());
  RowDiffOptions options;
  options.key = SplitList(a.key);
  options.columns = SplitList(a.columns);
  options.limit = a.limit;
  options.tolerance = a.tolerance;
  options.stat = a.stat;
  auto diff = DiffRowRefs(**repo, refs[0], refs.size() == 2 ? std::optional<std::string>(refs[1]) : std::nullopt,
                          options);
  if (!diff.ok()) return Fail(diff.status());
  if (json && a.format != "text" && a.format != "json") {
    return Fail(Status::InvalidArgument("--json and --format " + a.format + " ask for two formats", "give one"));
  }
  std::string format = json ? "json" : a.format;
  if (format == "json") {
    PrintJson(RowDiffJson(*diff));
  } else if (format == "csv") {
    WriteRowDiffCsv(*diff, std::cout);
    for (const TableDiff& t : diff->tables) {
      if (t.truncated) {
        std::cerr << "cairn: note: " << t.path << ": "
                  << t.added + t.removed + t.modified - static_cast<int64_t>(t.rows.size())
                  << " more changed rows not written (--limit N)\n";
      }
    }
  } else if (format == "daff") {
    WriteRowDiffDaff(*diff, std::cout);
  } else {
    PrintRowDiff(*diff, a.stat);
  }
  return kExitOk;
}

}  // namespace

void RegisterDiff(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("diff", "Show files added, deleted or modified between versions");
  cmd->footer(
      "With one REF, compares that version with the workspace; with two, the first with the second\n"
      "(a REF is a dataset ref, or with --rows also a workspace file or directory).\n"
      "--rows compares the tables in them (CSV, TSV, JSON Lines, Parquet) row by row: schema changes,\n"
      "rows added, removed and modified. With --key, rows match by key and modified rows show each\n"
      "changed cell; without, rows compare as a multiset. Numbers compare by value. See doc/data.md.\n"
      "Examples:\n"
      "  cairn diff data/raw@v1.0.0 data/raw\n"
      "  cairn diff data/raw@v1 data/raw@v2 --rows --key id\n"
      "  cairn diff data/raw@v1 --rows --key patient,visit --stat\n"
      "  cairn diff data/raw@v1 data/raw@v2 --rows --key id --format daff > changes.csv");
  struct Args {
    std::vector<std::string> refs;
    bool json = false;
    RowArgs row;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF", args->refs, "One or two refs")->required()->expected(1, 2);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->add_flag("--rows", args->row.rows, "Compare the tables row by row");
  cmd->add_option("--key", args->row.key, "Key columns that identify a row (with --rows)")->type_name("COL[,COL...]");
  cmd->add_option("--columns", args->row.columns, "Compare only these columns (with --rows)")->type_name("C[,C...]");
  cmd->add_flag("--stat", args->row.stat, "Counts only, no rows listed (with --rows)");
  cmd->add_option("--format", args->row.format, "text, json, csv (one line per changed cell) or daff (with --rows)")
      ->check(CLI::IsMember({"text", "json", "csv", "daff"}));
  cmd->add_option("--limit", args->row.limit, "Changed rows listed per file (default 20; with --rows)")
      ->type_name("N");
  cmd->add_option("--tolerance", args->row.tolerance, "Numbers within X are equal (with --rows and --key)")
      ->type_name("X");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      const RowArgs& row = args->row;
      bool row_flags = !row.key.empty() || !row.columns.empty() || row.stat || row.format != "text" ||
                       row.limit != 20 || row.tolerance != 0;
      if (!row.rows && row_flags) {
        return Fail(Status::InvalidArgument("--key, --columns, --stat, --format, --limit and --tolerance need --rows",
                                            "add --rows to compare the tables row by row"));
      }
      if (row.rows) return RowDiffCommand(ctx, args->refs, row, args->json);
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto from_ref = ResolveRef(**repo, args->refs[0]);
      if (!from_ref.ok()) return Fail(from_ref.status());
      auto from_version = LoadVersion(**repo, from_ref->version);
      if (!from_version.ok()) return Fail(from_version.status());
      auto from = LoadFiles(**repo, *from_version);
      if (!from.ok()) return Fail(from.status());
      Result<Tree> to = Status::OK();
      std::string to_name;
      if (args->refs.size() == 2) {
        auto to_ref = ResolveRef(**repo, args->refs[1]);
        if (!to_ref.ok()) return Fail(to_ref.status());
        auto to_version = LoadVersion(**repo, to_ref->version);
        if (!to_version.ok()) return Fail(to_version.status());
        to = LoadFiles(**repo, *to_version);
        to_name = to_ref->version.ToString();
      } else {
        if (from_ref->path.empty()) {
          return Fail(Status::NotFound("dataset " + from_ref->dataset + " is not in the workspace",
                                       "give a second ref to compare two versions"));
        }
        to = WorkspaceFiles(**repo, from_ref->path, ProgressWanted());
        to_name = "workspace";
      }
      if (!to.ok()) return Fail(to.status());
      std::vector<FileChange> changes = DiffTrees(*from, *to);
      if (args->json) {
        PrintJson(FileDiffJson(from_ref->version.ToString(), to_name, changes));
        return kExitOk;
      }
      uint64_t counts[3] = {0, 0, 0};
      for (const FileChange& c : changes) {
        counts[static_cast<int>(c.kind)]++;
        if (c.kind == FileChangeKind::kAdded) {
          std::cout << "A  " << c.path << " (" << Human(c.new_size) << ")\n";
        } else if (c.kind == FileChangeKind::kDeleted) {
          std::cout << "D  " << c.path << " (" << Human(c.old_size) << ")\n";
        } else {
          std::cout << "M  " << c.path << " (" << Human(c.old_size) << " -> " << Human(c.new_size) << ")\n";
        }
      }
      std::cout << counts[0] << " added, " << counts[2] << " modified, " << counts[1] << " deleted\n";
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
