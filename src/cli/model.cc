// cairn model: the model registry (register, list, show, versions, alias,
// deprecate, approve, get). `promote` and `history` are added to this
// command by the gates' own file (app.get_subcommand("model")).
#include <iostream>

#include "cairn/registry.h"
#include "cli/runs_common.h"
#include "util/file.h"

namespace cairn::cli {

// The working directory cairn was started in, before -C changed it
// (common.cc; declared here, its only user, to keep command.h unchanged).
const std::string& StartDirectory();

namespace {

std::string ShortOid(const Oid& oid) { return oid.Short(); }

// Registry damage a read skipped (a damaged or forged alias): said on
// stderr, once per problem, so listings still work.
void PrintWarnings(const std::vector<RegistryProblem>& warnings) {
  for (const RegistryProblem& w : warnings) {
    std::cerr << "cairn: warning: skipped " << w.ref.substr(w.ref.find(':') + 1) << ": " << w.message
              << (w.file.empty() ? "" : " (" + w.file + ")") << "; run 'cairn fsck'\n";
  }
}

void PrintVersion(const ModelVersionState& st) {
  const ModelVersion& v = st.version;
  std::cout << "model " << v.model << "@" << v.version << "  (" << st.oid.ToString() << ")\n";
  if (st.deprecated) {
    std::cout << "  DEPRECATED by " << st.deprecated_by << " on " << FormatMs(st.deprecated_ms)
              << (st.deprecated_reason.empty() ? "" : ": " + st.deprecated_reason) << "\n";
  }
  std::string aliases;
  for (const std::string& a : st.aliases) aliases += (aliases.empty() ? "" : ", ") + a;
  std::cout << "  aliases:    " << (aliases.empty() ? "-" : aliases) << "\n";
  std::cout << "  registered: " << FormatMs(v.time_ms) << " by " << v.user << (v.host.empty() ? "" : " on " + v.host)
            << "\n";
  if (!v.message.empty()) std::cout << "  message:    " << v.message << "\n";
  const ModelArtifact& a = v.artifact;
  std::cout << "  artifact:   " << a.path << "  ("
            << (a.kind == ObjectKind::kTree ? "directory, " + std::to_string(a.files) + " files, " : "file, ")
            << Human(a.size) << ", " << ShortOid(a.object) << ")\n";
  std::cout << "  run:        " << v.run << (v.run_status.empty() ? "" : "  " + v.run_status)
            << (v.stage.empty() ? "" : "  (stage " + v.stage + ")") << "\n";
  auto env = [&](const char* k) { return v.env.count(k) ? v.env.at(k) : std::string(); };
  std::string commit = env("git.commit");
  std::string none = v.env.count("git.dirty") ? "- (no commit yet)" : "- (not in a git work tree)";
  std::cout << "  commit:     " << (commit.empty() ? none : commit)
            << (env("git.dirty") == "true" ? "  (dirty: uncommitted changes)" : "") << "\n";
  if (!v.params.empty()) {
    std::cout << "  params:\n";
    for (const auto& [k, val] : v.params) std::cout << "    " << k << " = " << val << "\n";
  }
  if (!v.metrics.empty()) {
    std::cout << "  metrics:\n";
    for (const auto& [k, val] : v.metrics) std::cout << "    " << k << " = " << FormatMetric(val) << "\n";
  }
  std::cout << "  datasets upstream:" << (v.datasets.empty() ? " none recorded" : "") << "\n";
  // Declared inputs first, then those only checked out when the run
  // started, then upstream versions.
  auto rank = [](const ModelDataset& d) { return !d.direct ? 2 : d.source == "workspace" ? 1 : 0; };
  for (int r = 0; r <= 2; ++r) {
    for (const ModelDataset& d : v.datasets) {
      if (rank(d) != r) continue;
      std::string tags;
      for (const std::string& t : d.tags) tags += (tags.empty() ? "" : ",") + t;
      std::cout << "    " << d.dataset << "  " << (tags.empty() ? "-" : tags) << "  " << d.version.Short() << "  ("
                << (r == 0 ? "read by the run" : r == 1 ? "checked out when the run started, not declared" : "upstream")
                << (d.modified ? ", modified since that version" : "") << ")\n";
    }
  }
  if (v.signature) {
    std::cout << "  signature:  ";
    for (size_t i = 0; i < v.signature->columns.size(); ++i) {
      std::cout << (i ? ", " : "") << v.signature->columns[i].name << ":" << v.signature->columns[i].type;
    }
    std::cout << "  (" << v.signature->source << ")\n";
  }
  for (const auto& [k, val] : v.tags) std::cout << "  tag:        " << k << " = " << val << "\n";
  std::cout << "  approvals:  " << (st.approvals.empty() ? "none" : std::to_string(st.approvals.size())) << "\n";
  for (const Approval& ap : st.approvals) {
    std::cout << "    " << ap.user << "  " << FormatMs(ap.time_ms) << (ap.message.empty() ? "" : "  " + ap.message)
              << "\n";
  }
  std::cout << "  lineage:    cairn lineage model:" << v.model << "@" << v.version << " --up\n";
}

// "NAME@V" as the alias and approve commands need: a version must be named.
Status NeedsVersion(const std::string& ref, const char* command) {
  auto parsed = ParseModelRef(ref);
  if (!parsed.ok()) return parsed.status();
  if (ref.find('@') == std::string::npos) {
    return Status::InvalidArgument(std::string(command) + " needs a version: NAME@V",
                                   std::string("example: cairn model ") + command + " " + parsed->model + "@3");
  }
  return Status::OK();
}

}  // namespace

void RegisterModel(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("model", "Register, find, alias and get model versions (the model registry)");
  cmd->footer(
      "  cairn model register retriever --run 3f2a9c --artifact model.pkl -m 'bm25, chunk 200'\n"
      "  cairn model register retriever models/retriever.pkl      (a pipeline stage's output)\n"
      "  cairn model show retriever@production\n"
      "  cairn model alias retriever@3 staging\n"
      "  cairn model get retriever@production -o deploy/\n"
      "Refs: NAME@3, NAME@v3, NAME@ALIAS, NAME@latest, NAME (latest). 'model:NAME@production'\n"
      "also works as a run input (cairn run --input) and as a cairn.yaml dependency.");
  cmd->require_subcommand(1);
  struct Args {
    std::string name, ref, alias, run, artifact, path, message, signature, out;
    std::vector<std::string> tags;
    std::vector<std::string> positional;
    bool json = false, del = false, force = false;
  };
  auto args = std::make_shared<Args>();

  auto* reg = cmd->add_subcommand("register", "Register a new version of a model (numbered 1, 2, …)");
  reg->footer(
      "From a run: --run RUN --artifact PATH names a file (or directory) the run logged; the run\n"
      "must have ended. From a pipeline: PATH is a workspace output of a cairn.yaml stage, unchanged\n"
      "since the stage produced it. Either way the version records the run's params, metrics, code\n"
      "commit and environment, and every dataset version upstream of it.");
  reg->add_option("NAME", args->name, "Model name ([A-Za-z0-9._-])")->required();
  reg->add_option("PATH", args->path, "A workspace output of a pipeline stage");
  reg->add_option("--run", args->run, "The run that produced the artifact (id or unique prefix)");
  reg->add_option("--artifact", args->artifact, "The artifact path in that run (a file or a directory)");
  reg->add_option("-m,--message", args->message, "Describe this version");
  reg->add_option("-t,--tag", args->tags, "KEY=VALUE (repeatable)")->allow_extra_args(false);
  reg->add_option("--signature", args->signature, "A JSON file: {\"columns\": [{\"name\": …, \"type\": …}]}");
  reg->add_flag("--json", args->json, "Print the new version as JSON");
  reg->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      std::unique_ptr<Repo> repo;
      auto tracker = OpenTracker(ctx, &repo);
      if (!tracker.ok()) return Fail(tracker.status());
      RegisterOptions o;
      o.model = args->name;
      o.run = args->run;
      o.artifact = args->artifact;
      o.path = args->path;
      o.message = args->message;
      o.signature_file = args->signature;
      auto tags = ParseKeyValues(args->tags, "--tag");
      if (!tags.ok()) return Fail(tags.status());
      o.tags = *tags;
      auto st = ::cairn::RegisterModel(**tracker, o);
      if (!st.ok()) return Fail(st.status());
      auto notes = RegistrationNotes(*repo, *st);
      for (const std::string& n : notes.ok() ? *notes : std::vector<std::string>()) std::cerr << "note: " << n << "\n";
      if (args->json) {
        PrintJson(ModelVersionJson(*st));
      } else {
        std::cout << "registered " << st->version.model << "@" << st->version.version << "  ("
                  << st->version.artifact.path << ", run " << st->version.run.substr(0, 8) << ", "
                  << st->version.datasets.size() << " upstream dataset versions)\n";
      }
      return kExitOk;
    });
  });

  auto* list = cmd->add_subcommand("list", "List the models");
  list->add_flag("--json", args->json, "Print them as JSON");
  list->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto models = ListModels(**repo);
      if (!models.ok()) return Fail(models.status());
      for (const ModelSummary& m : *models) PrintWarnings(m.warnings);
      if (args->json) {
        Json out = Json::array();
        for (const ModelSummary& m : *models) out.push_back(ModelSummaryJson(m));
        PrintJson(out);
        return kExitOk;
      }
      if (models->empty()) std::cout << "no models yet ('cairn model register NAME ...')\n";
      for (const ModelSummary& m : *models) {
        std::string aliases;
        for (const auto& [a, n] : m.aliases) aliases += (aliases.empty() ? "" : ", ") + a + "=" + std::to_string(n);
        std::cout << m.name << "  latest " << m.latest << "  (" << m.versions << (m.versions == 1 ? " version)" : " versions)")
                  << (aliases.empty() ? "" : "  " + aliases) << "  " << FormatMs(m.updated_ms) << "\n";
      }
      return kExitOk;
    });
  });

  auto* show = cmd->add_subcommand("show", "Show a model version: artifact, run, commit, data, aliases");
  show->add_option("REF", args->ref, "NAME, NAME@3, NAME@v3, NAME@ALIAS or NAME@latest")->required();
  show->add_flag("--json", args->json, "Print it as JSON");
  show->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto st = ResolveModel(**repo, args->ref);
      if (!st.ok()) return Fail(st.status());
      PrintWarnings(st->warnings);
      if (args->json) {
        PrintJson(ModelVersionJson(*st));
      } else {
        PrintVersion(*st);
      }
      return kExitOk;
    });
  });

  auto* versions = cmd->add_subcommand("versions", "List every version of a model, oldest first");
  versions->add_option("NAME", args->name, "Model name")->required();
  versions->add_flag("--json", args->json, "Print them as JSON");
  versions->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto all = ListModelVersions(**repo, args->name);
      if (!all.ok()) return Fail(all.status());
      if (!all->empty()) PrintWarnings(all->front().warnings);
      if (args->json) {
        Json out = Json::array();
        for (const ModelVersionState& st : *all) out.push_back(ModelVersionJson(st));
        PrintJson(out);
        return kExitOk;
      }
      for (const ModelVersionState& st : *all) {
        const ModelVersion& v = st.version;
        std::string aliases;
        for (const std::string& a : st.aliases) aliases += (aliases.empty() ? "" : ",") + a;
        std::cout << v.version << "  " << st.oid.Short() << "  " << FormatMs(v.time_ms) << "  run "
                  << v.run.substr(0, 8) << "  " << v.artifact.path << (aliases.empty() ? "" : "  [" + aliases + "]")
                  << (st.deprecated ? "  DEPRECATED" : "") << (v.message.empty() ? "" : "  " + v.message) << "\n";
      }
      return kExitOk;
    });
  });

  auto* deprecate = cmd->add_subcommand("deprecate", "Mark a version deprecated (it can no longer get aliases)");
  deprecate->add_option("REF", args->ref, "NAME@V")->required();
  deprecate->add_option("-m,--message", args->message, "Why (recorded in the audit log)");
  deprecate->add_flag("--json", args->json, "Print the version as JSON");
  deprecate->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      if (Status s = NeedsVersion(args->ref, "deprecate"); !s.ok()) return Fail(s);
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto st = DeprecateModel(**repo, args->ref, args->message);
      if (!st.ok()) return Fail(st.status());
      if (args->json) {
        PrintJson(ModelVersionJson(*st));
      } else {
        std::cout << "deprecated " << st->version.model << "@" << st->version.version << "\n";
        if (!st->aliases.empty()) {
          std::string aliases;
          for (const std::string& a : st->aliases) aliases += (aliases.empty() ? "" : ", ") + a;
          std::cerr << "note: it still holds " << aliases << "; move them with 'cairn model alias'\n";
        }
      }
      return kExitOk;
    });
  });

  auto* alias = cmd->add_subcommand("alias", "Point an alias (production, staging …) at a version, or delete it");
  alias->footer(
      "  cairn model alias retriever@3 production -m 'beats v2 on eval@v3'\n"
      "  cairn model alias retriever staging --delete      (NAME@V --delete: only if it names V)\n"
      "Aliases: letters, digits, _ and -, at most 255 characters; not 'latest' and not v<digits>.\n"
      "This moves the alias without gates: 'cairn model promote' runs the gates first.");
  alias->add_option("REF", args->ref, "NAME@V (or NAME with --delete)")->required();
  alias->add_option("ALIAS", args->alias, "The alias")->required();
  alias->add_option("-m,--message", args->message, "Why (recorded in the audit log)");
  alias->add_flag("-d,--delete", args->del, "Delete the alias");
  alias->add_flag("--json", args->json, "Print the alias as JSON");
  alias->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (args->del) {
        auto parsed = ParseModelRef(args->ref);
        if (!parsed.ok()) return Fail(parsed.status());
        // NAME@V: delete the alias only if it names that version.
        int64_t expected = 0;
        if (args->ref.find('@') != std::string::npos) {
          auto st = ResolveModel(**repo, *parsed);
          if (!st.ok()) return Fail(st.status());
          expected = st->version.version;
        }
        Status s = DeleteAlias(**repo, parsed->model, args->alias, args->message, expected);
        if (!s.ok()) return Fail(s);
        if (args->json) {
          PrintJson(Json{{"model", parsed->model}, {"alias", args->alias}, {"deleted", true}});
        } else {
          std::cout << "deleted alias " << parsed->model << "@" << args->alias << "\n";
        }
        return kExitOk;
      }
      if (Status s = NeedsVersion(args->ref, "alias"); !s.ok()) return Fail(s);
      auto a = SetAlias(**repo, args->ref, args->alias, args->message);
      if (!a.ok()) return Fail(a.status());
      auto parsed = ParseModelRef(args->ref);
      if (args->json) {
        Json j = AliasStateJson(*a);
        j["model"] = parsed->model;  // as promote and alias --delete print it
        PrintJson(j);
      } else {
        std::cout << parsed->model << "@" << a->alias << " -> " << a->version << "\n";
      }
      return kExitOk;
    });
  });

  auto* approve = cmd->add_subcommand("approve", "Record your approval of a version (for approval gates)");
  approve->add_option("REF", args->ref, "NAME@V")->required();
  approve->add_option("-m,--message", args->message, "What you checked");
  approve->add_flag("--json", args->json, "Print the approval as JSON");
  approve->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      if (Status s = NeedsVersion(args->ref, "approve"); !s.ok()) return Fail(s);
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto a = ApproveModel(**repo, args->ref, args->message);
      if (!a.ok()) return Fail(a.status());
      if (args->json) {
        auto st = ResolveModel(**repo, args->ref);
        if (!st.ok()) return Fail(st.status());
        Json j = ApprovalJson(*a);
        j["model"] = st->version.model;
        j["version"] = st->version.version;
        PrintJson(j);
      } else {
        std::cout << "approved " << args->ref << " as " << a->user << "\n";
      }
      return kExitOk;
    });
  });

  auto* get = cmd->add_subcommand("get", "Write a version's artifact and its provenance.json into a directory");
  get->footer(
      "DIR must not exist or be empty (--force replaces its content). Every byte is checked\n"
      "against its sha256; provenance.json lists the artifact's sha256s, the dataset versions,\n"
      "code commit, params, metrics and environment of the run, and the version's aliases.");
  get->add_option("REF", args->ref, "NAME@ALIAS, NAME@3, NAME …")->required();
  get->add_option("-o,--output", args->out, "The directory to write")->required();
  get->add_flag("-f,--force", args->force, "Replace what DIR holds");
  get->add_flag("--json", args->json, "Print the result as JSON");
  get->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      // GetModel refuses a DIR holding the process's working directory; -C
      // has moved that, so the shell's own directory is checked here.
      if (ctx.dir != "." && !StartDirectory().empty()) {
        std::error_code ec;
        fs::path out = fs::path(args->out).is_absolute() ? fs::path(args->out) : (*repo)->base_dir() / args->out;
        fs::path dir = fs::weakly_canonical(out.lexically_normal(), ec);
        fs::path start = fs::weakly_canonical(StartDirectory(), ec);
        if (!dir.empty() && IsInside(start, dir)) {
          return Fail(Status::InvalidArgument("cannot write a model into " + args->out +
                                                  ": it is or holds the current directory " + start.string(),
                                              "choose an output directory of its own, e.g. -o deploy/"));
        }
      }
      auto got = GetModel(**repo, args->ref, args->out, args->force);
      if (!got.ok()) return Fail(got.status());
      PrintWarnings(got->state.warnings);
      if (args->json) {
        PrintJson(Json{{"model", got->state.version.model},
                       {"version", got->state.version.version},
                       {"object", got->state.oid.ToString()},
                       {"artifact", got->artifact.string()},
                       {"provenance", got->provenance.string()}});
      } else {
        std::cout << "wrote " << got->artifact.string() << " and " << got->provenance.string() << "  ("
                  << got->state.version.model << "@" << got->state.version.version << ")\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
