#include <iostream>

#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterGet(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("get", "Download one dataset version from a remote, without a repository");
  cmd->footer(
      "Like 'dvc get': needs no git repository and no 'cairn init'.\n"
      "  cairn get s3://bucket/prefix data/raw@v1.0.0 -o raw --endpoint-url http://127.0.0.1:9000\n"
      "  cairn get /srv/cairn-remote data/raw@v1.0.0 -o raw\n"
      "DIR must be new or empty unless --force. Nothing is left behind when it fails.");
  struct Args {
    RemoteSpec spec;
    std::string ref, out;
    bool force = false, json = false, path_style = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("url", a->spec.url, "Remote URL: directory or s3://bucket/prefix")->required();
  cmd->add_option("ref", a->ref, "DATASET@TAG or DATASET@<64-hex version oid>")->required();
  cmd->add_option("-o,--out", a->out, "Directory to create (default: the dataset's last path component)");
  cmd->add_option("--endpoint-url", a->spec.endpoint_url, "S3 endpoint, e.g. http://host:9000");
  cmd->add_option("--region", a->spec.region, "S3 region");
  cmd->add_option("--profile", a->spec.profile, "Profile in ~/.aws/credentials");
  cmd->add_flag("--path-style", a->path_style, "Address the bucket as endpoint/bucket");
  cmd->add_option("-j,--jobs", a->spec.jobs, "Parallel transfers")->check(CLI::Range(1, 256));
  cmd->add_flag("-f,--force", a->force, "Write into a non-empty directory, replacing files of the same name");
  cmd->add_flag("--json", a->json, "Print the report as JSON");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      if (a->path_style) a->spec.path_style = 1;
      std::string& url = a->spec.url;
      if (!url.empty() && url[0] != '/' && url.find("://") == std::string::npos) {
        url = std::filesystem::absolute(url).lexically_normal().string();
      }
      std::string out = a->out;
      if (out.empty()) {
        std::string ds = a->ref.substr(0, a->ref.find('@'));
        out = std::filesystem::path(ds).filename().string();
      }
      auto r = GetVersion(a->spec, a->ref, out, a->force, ProgressWanted());
      if (!r.ok()) {
        const Status& s = r.status();
        std::string extra;
        if (s.code() == Code::kFailedPrecondition && s.message().ends_with("is not empty")) extra = " (--force)";
        if (s.code() == Code::kCorruption) extra = " ('cairn fsck --remote NAME' checks a configured remote)";
        return Fail(extra.empty() ? s : Status::FromCode(s.code(), s.message(), s.hint() + extra));
      }
      if (a->json) {
        PrintJson({{"ref", a->ref},
                   {"out", out},
                   {"objects", r->objects},
                   {"bytes", r->bytes_logical},
                   {"bytes_moved", r->bytes_moved},
                   {"requests", r->requests}});
      } else {
        std::cout << "wrote " << a->ref << " to " << out << " (" << Human(r->bytes_logical) << ", "
                  << r->objects << " object(s), " << Human(r->bytes_moved) << " downloaded)\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
