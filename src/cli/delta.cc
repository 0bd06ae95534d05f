#include <iostream>
#include <set>
#include <sstream>

#include "cairn/delta.h"
#include "cli/command.h"
#include "cli/row_diff_print.h"

namespace cairn::cli {
namespace {

std::string Versions(const std::vector<DeltaInput>& inputs) {
  std::string s;
  for (const DeltaInput& d : inputs) {
    s += (s.empty() ? "" : ", ") + d.version.Short();
    if (!d.tags.empty()) s += " (" + d.tags + ")";
  }
  return s;
}

void PrintDelta(const Delta& delta, bool stat) {
  std::cout << "delta: " << delta.from_ref << " (" << delta.from_kind << ") -> " << delta.to_ref << " ("
            << delta.to_kind << ")\n";
  std::string same;
  for (const DatasetDelta& d : delta.datasets) {
    if (!d.changed && !d.unknown) {
      same += (same.empty() ? "" : ", ") + d.dataset + "@" + Versions(d.to);
      continue;
    }
    if (!d.changed) {  // the same version, but a side read it modified
      std::cout << d.dataset << ": " << Versions(d.from) << " on both sides\n  note: " << d.note << "\n";
      continue;
    }
    std::cout << d.dataset << ": " << Versions(d.from) << " -> " << Versions(d.to) << "\n";
    std::cout << "  files: ";
    int64_t counts[3] = {0, 0, 0};
    for (const FileChange& c : d.files) counts[static_cast<int>(c.kind)]++;
    std::cout << counts[0] << " added, " << counts[2] << " modified, " << counts[1] << " deleted\n";
    std::set<std::string> tables;
    for (const TableDiff& t : d.rows.tables) tables.insert(t.path);
    for (const FileChange& c : d.files) {
      if (tables.count(c.path)) continue;  // shown with its rows below
      char letter = c.kind == FileChangeKind::kAdded ? 'A' : c.kind == FileChangeKind::kDeleted ? 'D' : 'M';
      std::cout << "  " << letter << "  " << c.path << "\n";
    }
    for (const TableDiff& t : d.rows.tables) PrintTable(t, stat, "  ");
    if (!d.note.empty()) std::cout << "  note: " << d.note << "\n";
  }
  if (!same.empty()) std::cout << "the same on both sides: " << same << "\n";
  for (const DeltaInput& d : delta.only_from) {
    std::cout << "only " << delta.from_ref << " used " << d.dataset << "@" << d.version.Short() << "\n";
  }
  for (const DeltaInput& d : delta.only_to) {
    std::cout << "only " << delta.to_ref << " used " << d.dataset << "@" << d.version.Short() << "\n";
  }
  if (delta.datasets.empty() && delta.only_from.empty() && delta.only_to.empty()) {
    std::cout << "neither side used a tracked dataset\n";
  }
}

}  // namespace

void RegisterDelta(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("delta", "Show what changed in the data behind two runs, models or versions");
  cmd->footer(
      "A and B are runs (id or unique prefix), model versions (model:NAME@3, model:NAME@production)\n"
      "or dataset refs. Each side's input dataset versions are found upstream through lineage, paired\n"
      "by dataset name, and each pair that differs is compared: the files added, deleted and modified,\n"
      "and the tables row by row (as 'cairn diff --rows'). A table without the --key columns is\n"
      "compared without a key. Datasets only one side used are listed.\n"
      "Examples:\n"
      "  cairn delta 3f2a9c1 8b7d0e2 --key id\n"
      "  cairn delta model:retriever@2 model:retriever@3 --stat --json");
  struct Args {
    std::string from, to, key;
    bool json = false, stat = false, files_only = false;
    int64_t limit = 20;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("A", a->from, "A run, model version or dataset ref")->required();
  cmd->add_option("B", a->to, "The other side")->required();
  cmd->add_option("--key", a->key, "Key columns for the row diff of tables that have them")->type_name("COL[,COL...]");
  cmd->add_flag("--stat", a->stat, "Counts only, no rows listed");
  cmd->add_flag("--files", a->files_only, "Files only, no row diff");
  cmd->add_option("--limit", a->limit, "Changed rows listed per table (default 20)")->type_name("N");
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      if (a->limit < 0) return Fail(Status::InvalidArgument("--limit must be 0 or more"));
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      DeltaOptions options;
      options.rows.key = SplitList(a->key);
      options.rows.stat = a->stat;
      options.rows.limit = a->limit;
      options.row_level = !a->files_only;
      auto delta = ComputeDelta(**repo, a->from, a->to, options);
      if (!delta.ok()) return Fail(delta.status());
      if (a->json) {
        PrintJson(DeltaJson(*delta));
      } else {
        PrintDelta(*delta, a->stat);
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
