#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

// The library refuses to drop local changes unless forced; this command's
// way to force is --force.
Status WithForceAdvice(const Status& s) {
  if (s.code() != Code::kFailedPrecondition) return s;
  const std::string& m = s.message();
  if (m.find("not recorded") == std::string::npos && m.find("not in the cache") == std::string::npos) return s;
  return Status::FromCode(s.code(), m, s.hint() + " (--force discards them)");
}

}  // namespace

void RegisterCheckout(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("checkout", "Make the workspace match the pointer files");
  cmd->footer(
      "Use after 'git checkout' or 'git pull' to bring the data in line with the pointers.\n"
      "Files are copied (reflinked where the file system can); --link hardlink|symlink is for\n"
      "large read-only data. Modified or untracked files are never overwritten or deleted\n"
      "without --force: the command refuses and lists them.\n"
      "PATH@REF (data/raw@v1.0.0, data/raw~1) checks out that version of one path without moving\n"
      "git: its pointer file is rewritten, so commit it to keep the change. Changes the pointer\n"
      "does not record are refused without --force.");
  struct Args {
    std::vector<std::string> paths;
    bool force = false, json = false;
    std::string link = "copy";
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("PATH", args->paths, "Limit to these tracked paths; PATH@REF checks out that version of PATH");
  cmd->add_flag("-f,--force", args->force, "Discard modified or untracked files in tracked paths");
  cmd->add_option("--link", args->link, "How to place files: copy (default), hardlink, symlink")
      ->check(CLI::IsMember({"copy", "hardlink", "symlink"}));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      CheckoutOptions options;
      options.force = args->force;
      options.mode = args->link == "hardlink" ? LinkMode::kHardlink
                     : args->link == "symlink" ? LinkMode::kSymlink
                                               : LinkMode::kCopy;
      options.progress = ProgressWanted();
      // PATH@REF restores that version of one path; plain paths follow their pointers.
      std::vector<std::string> paths, refs;
      for (const std::string& p : args->paths) (IsVersionRef(p) ? refs : paths).push_back(p);
      Result<std::vector<CheckoutResult>> results = std::vector<CheckoutResult>();
      if (!paths.empty() || refs.empty()) {
        RepairReport repair;
        results = CheckoutAndRepair(**repo, paths, options, &repair);
        PrintRepair(repair);
      }
      for (const std::string& ref : refs) {
        if (!results.ok()) break;
        auto one = CheckoutRef(**repo, ref, options);
        if (!one.ok()) return Fail(WithForceAdvice(one.status()));
        results->push_back(*one);
      }
      if (!results.ok()) return Fail(WithForceAdvice(results.status()));
      Json out = Json::array();
      for (const CheckoutResult& r : *results) {
        if (args->json) {
          out.push_back(CheckoutResultJson(r));
        } else if (r.files_written == 0 && r.files_removed == 0) {
          std::cout << r.path << ": up to date\n";
        } else {
          std::cout << r.path << ": " << r.files_written << " file(s) written (" << Human(r.bytes_written) << "), "
                    << r.files_removed << " removed\n";
        }
      }
      if (args->json) PrintJson(out);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
