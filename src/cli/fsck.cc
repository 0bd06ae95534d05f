#include <iostream>

#include "cairn/derived.h"
#include "cairn/maintenance.h"
#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

int RemoteFsck(Repo& repo, const std::string& name, bool data, bool json) {
  auto spec = FindRemote(repo, name);
  if (!spec.ok()) return Fail(spec.status());
  auto r = FsckRemote(&repo, *spec, data, ProgressWanted());
  if (!r.ok()) return Fail(r.status());
  if (json) {
    Json problems = Json::array();
    for (const RemoteProblem& p : r->problems) {
      problems.push_back({{"kind", p.what}, {"name", p.name}, {"message", p.message}});
    }
    PrintJson({{"remote", spec->name},
               {"packs", r->packs},
               {"chunks", r->chunks},
               {"bytes", r->bytes},
               {"data_checked", data},
               {"refs", r->refs},
               {"objects", r->objects},
               {"orphan_packs", r->orphan_packs},
               {"ok", r->problems.empty()},
               {"problems", problems}});
  } else {
    for (const RemoteProblem& p : r->problems) {
      std::cout << "damaged " << p.what << (p.name.empty() ? "" : " " + p.name) << ": " << p.message << "\n";
    }
    std::cout << spec->name << ": " << r->packs << " pack(s), " << r->chunks << " chunk(s), " << Human(r->bytes)
              << (data ? " verified" : " indexed (not downloaded: --quick)") << "; " << r->refs << " ref(s) with "
              << r->objects << " object(s) complete";
    if (r->orphan_packs) std::cout << "; " << r->orphan_packs << " pack(s) from interrupted pushes (gc removes them)";
    std::cout << ": " << (r->problems.empty() ? "no problems" : std::to_string(r->problems.size()) + " problem(s)")
              << "\n";
  }
  return r->problems.empty() ? kExitOk : kExitNegative;
}

}  // namespace

void RegisterFsck(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("fsck", "Verify every cached object, tree, version, pointer and tag");
  cmd->footer("Exit 0 when everything is intact, 1 when damage or missing data was found.\n"
              "Every file of every use_dataset copy (.cairn/datasets/) is read and hashed against its\n"
              "version, so fsck takes about as long as reading those copies once.\n"
              "--repair rebuilds damaged pack indexes from their packs and drops damaged packed objects\n"
              "(so that fetching or adding the data again stores them anew), removes damaged use_dataset\n"
              "copies (the next use_dataset makes them again), then checks again.");
  auto json = std::make_shared<bool>(false);
  auto remote = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  auto repair = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->add_flag("--repair", *repair, "Repair damaged local packs, remove damaged use_dataset copies, then check again");
  cmd->add_option("-r,--remote", *remote, "Check this remote instead of the local cache");
  cmd->add_flag("--quick", *quick, "Remote only: check indexes and refs, do not download the packs");
  cmd->callback([&ctx, json, remote, quick, repair] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!remote->empty()) {
        if (*repair) {
          return Fail(Status::InvalidArgument("--repair works on the local cache, not on a remote",
                                              "run 'cairn fsck --repair' without --remote"));
        }
        return RemoteFsck(**repo, *remote, !*quick, *json);
      }
      auto report = Fsck(**repo, ProgressWanted());
      if (!report.ok()) return Fail(report.status());
      std::vector<PackRepair> repaired;
      std::vector<std::filesystem::path> copies_removed;
      std::vector<std::string> derived_removed;
      if (*repair && !report->problems.empty()) {
        auto r = RepairCache(**repo, *report);
        if (!r.ok()) return Fail(r.status());
        repaired = std::move(r).value();
        auto removed = RemoveDamagedCopies(**repo, *report);
        if (!removed.ok()) return Fail(removed.status());
        copies_removed = std::move(removed).value();
        auto dropped = RemoveDamagedDerived(**repo);  // after RepairCache dropped their objects
        if (!dropped.ok()) return Fail(dropped.status());
        derived_removed = std::move(dropped).value();
        if (!repaired.empty() || !copies_removed.empty() || !derived_removed.empty()) {
          report = Fsck(**repo, ProgressWanted());  // what is still wrong
          if (!report.ok()) return Fail(report.status());
        }
      }
      auto relative = [&](const std::filesystem::path& p) { return p.lexically_relative((*repo)->root()).string(); };
      auto where = [&](const PackRepair& p) { return relative(p.pack); };
      if (*json) {
        Json repairs = Json::array();
        for (const PackRepair& p : repaired) {
          repairs.push_back({{"pack", where(p)},
                             {"problem", p.problem},
                             {"objects_kept", p.objects_kept},
                             {"objects_dropped", p.objects_dropped}});
        }
        Json problems = Json::array();
        for (const FsckProblem& p : report->problems) {
          problems.push_back({{"kind", p.what}, {"name", p.name}, {"message", p.message}});
        }
        Json out = {{"objects_checked", report->objects_checked},
                    {"bytes_checked", report->bytes_checked},
                    {"pointers_checked", report->pointers_checked},
                    {"runs_checked", report->runs_checked},
                    {"copies_checked", report->copies_checked},
                    {"derived_checked", report->derived_checked},
                    {"ok", report->problems.empty()},
                    {"problems", problems}};
        if (*repair) {
          out["repaired"] = repairs;
          Json removed = Json::array();
          for (const auto& p : copies_removed) removed.push_back(relative(p));
          out["copies_removed"] = removed;
          out["derived_removed"] = derived_removed;
        }
        PrintJson(out);
      } else {
        for (const PackRepair& p : repaired) {
          std::cout << "repaired pack " << where(p) << " (" << p.problem << "): " << p.objects_kept
                    << " object(s) kept, " << p.objects_dropped << " damaged object(s) dropped\n";
        }
        for (const auto& p : copies_removed) {
          std::cout << "removed damaged use_dataset copy " << relative(p) << " (use_dataset makes it again)\n";
        }
        for (const std::string& ref : derived_removed) {
          std::cout << "removed " << ref << ", whose object was damaged or missing (computed again when asked for)\n";
        }
        for (const FsckProblem& p : report->problems) {
          std::cout << "damaged " << p.what << " " << p.name << ": " << p.message << "\n";
        }
        std::cout << "checked " << report->objects_checked << " object(s) (" << Human(report->bytes_checked)
                  << "), " << report->pointers_checked << " pointer file(s)"
                  << (report->copies_checked ? ", " : " and ") << report->runs_checked << " run record(s)"
                  << (report->copies_checked ? " and " + std::to_string(report->copies_checked) + " use_dataset copy(ies)"
                                             : std::string())
                  << ": "
                  << (report->problems.empty() ? "no problems" : std::to_string(report->problems.size()) + " problem(s)")
                  << "\n";
      }
      return report->problems.empty() ? kExitOk : kExitNegative;
    });
  });
}

}  // namespace cairn::cli
