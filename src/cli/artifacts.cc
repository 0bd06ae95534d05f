// cairn artifacts: list a run's artifacts and copy them out of the cache.
#include <iostream>

#include "cli/runs_common.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

// Writes one artifact to `dest` atomically: a temp file beside it, then rename.
Status Restore(Repo& repo, const RunArtifact& a, const std::filesystem::path& dest, bool force) {
  std::error_code ec;
  if (std::filesystem::symlink_status(dest, ec).type() != std::filesystem::file_type::not_found) {
    if (!force) {
      return Status::AlreadyExists(dest.string() + " exists", "pass --force to overwrite it, or choose -o");
    }
    if (std::filesystem::is_directory(dest)) {
      return Status::AlreadyExists(dest.string() + " is a directory", "choose another -o");
    }
  }
  if (dest.has_parent_path()) std::filesystem::create_directories(dest.parent_path(), ec);
  std::filesystem::path tmp = dest;
  tmp += ".cairn-tmp";
  std::filesystem::remove(tmp, ec);
  CAIRN_RETURN_IF_ERROR(repo.store().Materialize(a.oid, tmp, LinkMode::kCopy));
  std::filesystem::rename(tmp, dest, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::IOError("cannot write " + dest.string() + ": " + ec.message());
  }
  return Status::OK();
}

Result<RunInfo> LoadRun(const Context& ctx, const std::string& run, std::unique_ptr<Repo>* repo) {
  CAIRN_ASSIGN_OR_RETURN(auto tracker, OpenTracker(ctx, repo));
  return tracker->GetRun(run);
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
      auto run = LoadRun(ctx, args->run, &repo);
      if (!run.ok()) return Fail(run.status());
      Json out = Json::array();
      for (const RunArtifact& a : run->artifacts) {
        if (args->json) {
          out.push_back({{"path", a.path}, {"oid", a.oid.ToString()}, {"size", a.size}});
        } else {
          std::cout << a.path << "\t" << Human(a.size) << "\t" << a.oid.Short() << "\n";
        }
      }
      if (args->json) PrintJson(out);
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
      auto run = LoadRun(ctx, args->run, &repo);
      if (!run.ok()) return Fail(run.status());
      std::string want = args->path;
      while (want.size() > 1 && want.back() == '/') want.pop_back();
      std::vector<RunArtifact> picked;
      bool is_dir = false;
      for (const RunArtifact& a : run->artifacts) {
        if (a.path == want) {
          picked = {a};
          break;
        }
        if (a.path.starts_with(want + "/")) {
          picked.push_back(a);
          is_dir = true;
        }
      }
      if (picked.empty()) {
        return Fail(Status::NotFound("run " + run->id.substr(0, 8) + " has no artifact '" + want + "'",
                                     "list them with 'cairn artifacts list " + run->id.substr(0, 8) + "'"));
      }
      if (args->out == "-") {
        if (is_dir) return Fail(Status::InvalidArgument("'-o -' needs a single file, and " + want + " is a directory"));
        auto data = repo->store().Read(picked[0].oid);
        if (!data.ok()) return Fail(data.status());
        std::cout << *data << std::flush;
        return kExitOk;
      }
      std::filesystem::path out = args->out.empty() ? std::filesystem::path(want).filename() : std::filesystem::path(args->out);
      // Check every destination before writing any; a directory's artifact
      // paths (from a record that may come from a remote) stay below -o.
      WriteRoot root(out);
      std::vector<std::filesystem::path> dests;
      for (const RunArtifact& a : picked) {
        if (!is_dir) {
          dests.push_back(out);
        } else {
          auto dest = root.Resolve(a.path.substr(want.size() + 1));
          if (!dest.ok()) return Fail(dest.status());
          dests.push_back(*dest);
        }
      }
      for (const std::filesystem::path& dest : dests) {
        std::error_code ec;
        if (!args->force && std::filesystem::symlink_status(dest, ec).type() != std::filesystem::file_type::not_found) {
          return Fail(Status::AlreadyExists(dest.string() + " exists", "pass --force to overwrite it, or choose -o"));
        }
      }
      for (size_t i = 0; i < picked.size(); ++i) {
        const RunArtifact& a = picked[i];
        const std::filesystem::path& dest = dests[i];
        Status s = Restore(*repo, a, dest, args->force);
        if (!s.ok()) return Fail(s);
        std::cout << "wrote " << dest.string() << " (" << Human(a.size) << ")\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
