#include <iostream>

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
  cmd->footer("Exit 0 when everything is intact, 1 when damage or missing data was found.");
  auto json = std::make_shared<bool>(false);
  auto remote = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->add_option("-r,--remote", *remote, "Check this remote instead of the local cache");
  cmd->add_flag("--quick", *quick, "Remote only: check indexes and refs, do not download the packs");
  cmd->callback([&ctx, json, remote, quick] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!remote->empty()) return RemoteFsck(**repo, *remote, !*quick, *json);
      auto report = Fsck(**repo, ProgressWanted());
      if (!report.ok()) return Fail(report.status());
      if (*json) {
        Json problems = Json::array();
        for (const FsckProblem& p : report->problems) {
          problems.push_back({{"kind", p.what}, {"name", p.name}, {"message", p.message}});
        }
        PrintJson({{"objects_checked", report->objects_checked},
                   {"bytes_checked", report->bytes_checked},
                   {"pointers_checked", report->pointers_checked},
                   {"runs_checked", report->runs_checked},
                   {"ok", report->problems.empty()},
                   {"problems", problems}});
      } else {
        for (const FsckProblem& p : report->problems) {
          std::cout << "damaged " << p.what << " " << p.name << ": " << p.message << "\n";
        }
        std::cout << "checked " << report->objects_checked << " object(s) (" << Human(report->bytes_checked)
                  << "), " << report->pointers_checked << " pointer file(s) and " << report->runs_checked
                  << " run record(s): "
                  << (report->problems.empty() ? "no problems" : std::to_string(report->problems.size()) + " problem(s)")
                  << "\n";
      }
      return report->problems.empty() ? kExitOk : kExitNegative;
    });
  });
}

}  // namespace cairn::cli
