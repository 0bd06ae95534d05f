#include <iostream>
#include <optional>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cairn/profile.h"
#include "cairn/refs.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterShow(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("show", "Show the metadata of a dataset version");
  struct Args {
    std::string ref;
    bool json = false;
    bool profile = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF", args->ref, "Dataset name, path or ref")->required();
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->add_flag("--profile", args->profile,
                "Also print the profile of each table of the version (the stored one; computed once when "
                "there is none, as 'cairn profile' does)");
  cmd->callback([&ctx, args] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto ref = ResolveRef(**repo, args->ref);
      if (!ref.ok()) return Fail(ref.status());
      auto v = LoadVersion(**repo, ref->version);
      if (!v.ok()) return Fail(v.status());
      auto tags = ListTags(**repo, v->dataset);
      if (!tags.ok()) return Fail(tags.status());
      std::vector<std::string> names;
      for (const Tag& t : *tags) {
        if (t.version == ref->version) names.push_back(t.name + (t.golden ? " (golden)" : ""));
      }
      bool present = (*repo)->store().Has(v->object);
      std::optional<ProfileReport> profile;
      if (args->profile) {
        // The version itself, not the workspace: its oid names it whatever the ref was.
        auto report = ProfileRef(**repo, v->dataset + "@" + ref->version.Hex());
        if (!report.ok()) return Fail(report.status());
        report->label = v->dataset + "@" + ref->version.Short();
        profile = std::move(*report);
      }
      if (args->json) {
        Json j = cairn::VersionJson(ref->version, *v);
        j["tags"] = names;
        j["data_present"] = present;
        j["path"] = ref->path;
        if (profile) j["profile"] = ProfileReportJson(*profile);
        PrintJson(j);
        return kExitOk;
      }
      std::cout << "version  " << ref->version.ToString() << "\n"
                << "dataset  " << v->dataset << (ref->path.empty() ? "" : " (at " + ref->path + ")") << "\n"
                << "kind     " << (v->kind == ObjectKind::kTree ? "directory" : "file") << "\n"
                << "object   " << v->object.ToString() << (present ? "" : " [not in cache]") << "\n"
                << "size     " << Human(v->size) << " (" << v->size << " bytes)\n"
                << "files    " << v->files << "\n";
      for (const Oid& p : v->parents) std::cout << "parent   " << p.ToString() << "\n";
      std::cout << "author   " << v->author << "\n"
                << "date     " << FormatTime(v->time) << "\n";
      if (!names.empty()) {
        std::cout << "tags    ";
        for (const std::string& n : names) std::cout << " " << n;
        std::cout << "\n";
      }
      std::cout << "message  " << v->message << "\n";
      if (profile) std::cout << "\n" << ProfileReportText(*profile);
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
