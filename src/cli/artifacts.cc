// cairn artifacts: list a run's artifacts and copy them out of the cache.
#include <iostream>

#include "cairn/artifacts.h"
#include "cairn/json_tracking.h"
#include "cli/runs_common.h"

namespace cairn::cli {
namespace {

// The library's errors, with this command's advice.
Status NoSuchArtifact(const Status& s, const std::string& run) {
  if (s.code() != Code::kNotFound) return s;
  return Status::FromCode(s.code(), s.message(), "list them with 'cairn artifacts list " + run.substr(0, 8) + "'");
}

Status WriteRefused(const Status& s) {
  if (s.code() == Code::kAlreadyExists) {
    return Status::FromCode(s.code(), s.message(), "pass --force to overwrite it, or choose -o");
  }
  if (s.code() == Code::kFailedPrecondition) return Status::FromCode(s.code(), s.message(), "choose another -o");
  return s;
}

}  // namespace

void RegisterArtifacts(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("artifacts", "List or get the files a run stored");
  cmd->footer(
      "  cairn artifacts list 3f2a9c\n"
      "  cairn artifacts get 3f2a9c model.pkl -o models/best.pkl\n"
      "  cairn artifacts get 3f2a9c cairn/stdout.log -o -     (to stdout)\n"
      "A directory PATH gets every artifact below it.");
  cmd->require_subcommand(1);
  struct Args {
    std::string run, path, out;
    bool force = false, json = false;
  };
  auto args = std::make_shared<Args>();
  auto* list = cmd->add_subcommand("list", "List a run's artifacts");
  list->add_option("RUN", args->run, "Run id")->required();
  list->add_flag("--json", args->json, "Print them as JSON");
  list->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      auto arts = ListArtifacts(**tracker, args->run);
      if (!arts.ok()) return Fail(arts.status());
      if (args->json) {
        PrintJson(ArtifactListJson(*arts));
        return kExitOk;
      }
      for (const RunArtifact& a : *arts) {
        std::cout << a.path << "\t" << Human(a.size) << "\t" << a.oid.Short() << "\n";
      }
      return kExitOk;
    });
  });
  auto* get = cmd->add_subcommand("get", "Copy an artifact (or a directory of them) out of the cache");
  get->add_option("RUN", args->run, "Run id")->required();
  get->add_option("PATH", args->path, "Artifact path (see 'cairn artifacts list')")->required();
  get->add_option("-o,--output", args->out, "Where to write it (default: its file name here; '-' for stdout)");
  get->add_flag("-f,--force", args->force, "Overwrite existing files");
  get->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      auto run = (*tracker)->GetRun(args->run);
      if (!run.ok()) return Fail(run.status());
      auto sel = SelectArtifacts(*run, args->path);
      if (!sel.ok()) return Fail(NoSuchArtifact(sel.status(), run->id));
      if (args->out == "-") {
        if (sel->directory) {
          return Fail(Status::InvalidArgument("'-o -' needs a single file, and " + sel->path + " is a directory"));
        }
        auto data = ReadArtifact(*repo, sel->artifacts[0]);
        if (!data.ok()) return Fail(data.status());
        std::cout << *data << std::flush;
        return kExitOk;
      }
      // Shown as given; written to the absolute path.
      std::filesystem::path out =
          args->out.empty() ? std::filesystem::path(sel->path).filename() : std::filesystem::path(args->out);
      std::error_code ec;
      std::filesystem::path abs = std::filesystem::absolute(out, ec);
      if (ec) return Fail(Status::FromErrno("cannot resolve " + out.string(), ec.value()));
      DownloadOptions options;
      options.overwrite = args->force;
      options.on_written = [&](const RunArtifact& a, const std::filesystem::path& dest) {
        std::filesystem::path shown = sel->directory ? out / dest.lexically_relative(abs) : out;
        std::cout << "wrote " << shown.string() << " (" << Human(a.size) << ")\n";
      };
      auto written = DownloadArtifacts(*repo, *sel, abs, options);
      if (!written.ok()) return Fail(WriteRefused(written.status()));
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
