#include <ctime>
#include <iostream>

#include "cairn/dataset.h"
#include "cairn/json_dataset.h"
#include "cairn/refs.h"
#include "cli/command.h"

namespace cairn::cli {

void RegisterTag(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("tag", "Name a dataset version; list or delete tags");
  cmd->footer(
      "  cairn tag data/raw v1.0.0 --golden -m 'frozen for the paper'\n"
      "  cairn tag --list [DATASET]\n"
      "  cairn tag --delete data/raw@v0.9.0\n"
      "Tags are immutable: re-pointing one is an error. Golden tags can never be deleted,\n"
      "and their data is never garbage-collected.");
  struct Args {
    std::vector<std::string> positional;
    bool golden = false, list = false, del = false, json = false;
    std::string message;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("REF TAG", args->positional, "Version to tag and the tag name")->expected(0, 2);
  cmd->add_flag("--golden", args->golden, "Protect this version forever");
  cmd->add_option("-m,--message", args->message, "Describe the tag");
  cmd->add_flag("-l,--list", args->list, "List tags (of DATASET, or all)");
  cmd->add_flag("-d,--delete", args->del, "Delete DATASET@TAG (not golden ones)");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto& pos = args->positional;
      if (args->list + args->del > 1) return Fail(Status::InvalidArgument("--list and --delete exclude each other"));
      if (args->list) {
        std::string dataset;
        if (pos.size() > 1) return Fail(Status::InvalidArgument("--list takes at most one DATASET"));
        if (pos.size() == 1) {
          auto ref = ResolveRef(**repo, pos[0]);
          if (!ref.ok()) return Fail(ref.status());
          dataset = ref->dataset;
        }
        auto tags = ListTags(**repo, dataset);
        if (!tags.ok()) return Fail(tags.status());
        Json out = Json::array();
        for (const Tag& t : *tags) {
          if (args->json) {
            out.push_back(TagJson(t));
          } else {
            std::cout << t.dataset << "@" << t.name << "\t" << t.version.Short() << (t.golden ? "\tgolden" : "\t")
                      << "\t" << FormatTime(t.time) << (t.message.empty() ? "" : "\t" + t.message) << "\n";
          }
        }
        if (args->json) PrintJson(out);
        return kExitOk;
      }
      if (args->del) {
        std::string dataset_ref, name;
        if (pos.size() == 1 && pos[0].rfind('@') != std::string::npos) {
          dataset_ref = pos[0].substr(0, pos[0].rfind('@'));
          name = pos[0].substr(pos[0].rfind('@') + 1);
        } else if (pos.size() == 2) {
          dataset_ref = pos[0];
          name = pos[1];
        } else {
          return Fail(Status::InvalidArgument("--delete needs DATASET@TAG (or DATASET TAG)"));
        }
        auto ref = ResolveRef(**repo, dataset_ref);
        if (!ref.ok()) return Fail(ref.status());
        auto lock = (*repo)->Lock();
        if (!lock.ok()) return Fail(lock.status());
        Status s = DeleteTag(**repo, ref->dataset, name);
        if (!s.ok()) return Fail(s);
        std::cout << "deleted tag " << ref->dataset << "@" << name << "\n";
        return kExitOk;
      }
      if (pos.size() != 2) {
        return Fail(Status::InvalidArgument("tag needs REF and TAG", "example: cairn tag data/raw v1.0.0"));
      }
      auto ref = ResolveRef(**repo, pos[0]);
      if (!ref.ok()) return Fail(ref.status());
      if (!(*repo)->store().Has(ref->version)) {
        return Fail(Status::NotFound("version " + ref->version.ToString() + " is not in the cache"));
      }
      auto lock = (*repo)->Lock();
      if (!lock.ok()) return Fail(lock.status());
      Tag tag{ref->dataset, pos[1], ref->version, args->golden, (*repo)->Author(), static_cast<int64_t>(std::time(nullptr)),
              args->message};
      Status s = CreateTag(**repo, tag);
      if (!s.ok()) return Fail(s);
      if (args->json) {
        PrintJson(TagJson(tag));
      } else {
        std::cout << "tagged " << tag.dataset << "@" << tag.name << " -> " << tag.version.Short()
                  << (tag.golden ? " (golden: protected forever)" : "") << "\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
