#include <iostream>

#include "cairn/remote.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterRemote(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("remote", "Manage remotes: where versions and runs are shared");
  cmd->require_subcommand(0, 1);
  cmd->footer(
      "Remotes live in .cairn/config (committed, so every clone knows them). URLs:\n"
      "  /abs/path or file:///abs/path   a directory (relative paths are taken from the repo root)\n"
      "  s3://bucket[/prefix]            S3 or an S3-compatible store (MinIO, Ceph, R2, GCS interop)\n"
      "S3 credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and\n"
      "~/.aws/credentials; the endpoint from --endpoint-url or AWS_ENDPOINT_URL. Secrets are\n"
      "written only when given, and only to .cairn/config.local, which git ignores.");

  auto* add = cmd->add_subcommand("add", "Add a remote");
  struct AddArgs {
    RemoteSpec spec;
    bool make_default = false, force = false, path_style = false, virtual_host = false;
  };
  auto a = std::make_shared<AddArgs>();
  add->add_option("name", a->spec.name, "Remote name, e.g. origin")->required();
  add->add_option("url", a->spec.url, "Directory path or s3://bucket/prefix")->required();
  add->add_flag("-d,--default", a->make_default, "Make it the default remote");
  add->add_option("--endpoint-url", a->spec.endpoint_url, "S3 endpoint (MinIO, Ceph, R2 …), e.g. http://host:9000");
  add->add_option("--region", a->spec.region, "S3 region (default: AWS_REGION or us-east-1)");
  add->add_option("--profile", a->spec.profile, "Profile in ~/.aws/credentials");
  add->add_flag("--path-style", a->path_style, "Address buckets as endpoint/bucket (default with --endpoint-url)");
  add->add_flag("--virtual-host", a->virtual_host, "Address buckets as bucket.endpoint");
  add->add_option("--jobs", a->spec.jobs, "Parallel transfers (default 8 for S3, 4 for directories)")
      ->check(CLI::Range(1, 256));
  add->add_option("--access-key-id", a->spec.access_key_id, "Store this key id in .cairn/config.local");
  add->add_option("--secret-access-key", a->spec.secret_access_key, "Store this secret in .cairn/config.local");
  add->add_flag("-f,--force", a->force, "Replace a remote of the same name");
  add->callback([&ctx, a] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (a->path_style && a->virtual_host) {
        return Fail(Status::InvalidArgument("--path-style and --virtual-host exclude each other"));
      }
      if (a->path_style) a->spec.path_style = 1;
      if (a->virtual_host) a->spec.path_style = 0;
      std::string& url = a->spec.url;
      if (!url.empty() && url[0] != '/' && url.rfind("s3://", 0) != 0 && url.rfind("file://", 0) != 0 &&
          url.find("://") == std::string::npos) {
        // A relative directory: keep it relative to the repository root.
        auto abs = std::filesystem::absolute(url).lexically_normal();
        url = abs.lexically_relative((*repo)->root()).generic_string();
      }
      Status s = AddRemote(**repo, a->spec, a->make_default, a->force);
      if (s.code() == Code::kAlreadyExists) return Fail(Status::FromCode(s.code(), s.message(), s.hint() + " (--force replaces it)"));
      if (!s.ok()) return Fail(s);
      std::cout << "added remote " << a->spec.name << " → " << a->spec.url << (a->make_default ? " (default)" : "")
                << "\n";
      return kExitOk;
    });
  });

  auto* list = cmd->add_subcommand("list", "List remotes");
  auto json = std::make_shared<bool>(false);
  list->add_flag("--json", *json, "Print as JSON");
  auto do_list = [&ctx, json] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto remotes = ListRemotes(**repo);
      if (!remotes.ok()) return Fail(remotes.status());
      if (*json) {
        Json out = Json::array();
        for (const RemoteSpec& r : remotes->remotes) {
          Json j = {{"name", r.name}, {"url", r.url}, {"default", r.name == remotes->default_name}};
          if (!r.endpoint_url.empty()) j["endpoint_url"] = r.endpoint_url;
          if (!r.region.empty()) j["region"] = r.region;
          if (!r.profile.empty()) j["profile"] = r.profile;
          if (r.path_style >= 0) j["path_style"] = r.path_style == 1;
          j["credentials_in_config"] = !r.access_key_id.empty();
          out.push_back(j);
        }
        PrintJson(out);
        return kExitOk;
      }
      for (const RemoteSpec& r : remotes->remotes) {
        std::cout << r.name << "\t" << r.url;
        if (!r.endpoint_url.empty()) std::cout << "\t(endpoint " << r.endpoint_url << ")";
        if (r.name == remotes->default_name) std::cout << "\t(default)";
        std::cout << "\n";
      }
      return kExitOk;
    });
  };
  list->callback(do_list);

  auto* remove = cmd->add_subcommand("remove", "Remove a remote from the config (the remote's data stays)");
  auto name = std::make_shared<std::string>();
  remove->add_option("name", *name, "Remote name")->required();
  remove->callback([&ctx, name] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      Status s = RemoveRemote(**repo, *name);
      if (!s.ok()) return Fail(s);
      std::cout << "removed remote " << *name << "\n";
      return kExitOk;
    });
  });

  auto* def = cmd->add_subcommand("default", "Make a remote the default one");
  auto def_name = std::make_shared<std::string>();
  def->add_option("name", *def_name, "Remote name")->required();
  def->callback([&ctx, def_name] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      Status s = SetDefaultRemote(**repo, *def_name);
      if (!s.ok()) return Fail(s);
      std::cout << "default remote: " << *def_name << "\n";
      return kExitOk;
    });
  });
  cmd->callback([cmd, do_list] {
    if (cmd->get_subcommands().empty()) do_list();
  });
}

}  // namespace cairn::cli
