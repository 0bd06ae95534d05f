// cairn: the command-line interface. Commands are registered from a table;
// each lives in its own file (src/cli/<command>.cc).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cairn/version.h"
#include "cli/command.h"
#include "util/edit_distance.h"

namespace cairn::cli {
void RegisterInit(CLI::App&, Context&);
void RegisterAdd(CLI::App&, Context&);
void RegisterStatus(CLI::App&, Context&);
void RegisterCheckout(CLI::App&, Context&);
void RegisterLog(CLI::App&, Context&);
void RegisterDiff(CLI::App&, Context&);
void RegisterLs(CLI::App&, Context&);
void RegisterShow(CLI::App&, Context&);
void RegisterTag(CLI::App&, Context&);
void RegisterGc(CLI::App&, Context&);
void RegisterFsck(CLI::App&, Context&);
void RegisterRun(CLI::App&, Context&);
void RegisterRuns(CLI::App&, Context&);
void RegisterExperiments(CLI::App&, Context&);
void RegisterArtifacts(CLI::App&, Context&);
void RegisterReindex(CLI::App&, Context&);
void RegisterRemote(CLI::App&, Context&);
void RegisterPush(CLI::App&, Context&);
void RegisterFetch(CLI::App&, Context&);
void RegisterPull(CLI::App&, Context&);
void RegisterGet(CLI::App&, Context&);
void RegisterRepro(CLI::App&, Context&);
void RegisterStage(CLI::App&, Context&);
void RegisterDag(CLI::App&, Context&);
void RegisterLineage(CLI::App&, Context&);
void RegisterModel(CLI::App&, Context&);
void RegisterAudit(CLI::App&, Context&);
void RegisterDrift(CLI::App&, Context&);
void RegisterDelta(CLI::App&, Context&);
void RegisterProfile(CLI::App&, Context&);
void RegisterGate(CLI::App&, Context&);
void RegisterModelGates(CLI::App&, Context&);  // model promote/history: after RegisterModel
void RegisterModelSignature(CLI::App&, Context&);
void RegisterValidate(CLI::App&, Context&);

constexpr RegisterFn kCommands[] = {
    RegisterInit, RegisterAdd, RegisterStatus, RegisterCheckout, RegisterLog, RegisterDiff,
    RegisterLs,   RegisterShow, RegisterTag,   RegisterGc,       RegisterFsck,
    RegisterRun,  RegisterRuns, RegisterExperiments, RegisterArtifacts, RegisterReindex,
    RegisterRemote, RegisterPush, RegisterFetch, RegisterPull, RegisterGet,
    RegisterRepro, RegisterStage, RegisterDag, RegisterLineage, RegisterModel, RegisterModelSignature,
    RegisterModelGates, RegisterGate, RegisterAudit,
    RegisterDrift, RegisterDelta, RegisterValidate, RegisterProfile,
};

// The name closest to a mistyped one (at most two edits away), or "".
std::string Nearest(const std::vector<std::string>& names, const std::string& typed) {
  return NearestName(names, typed);
}

std::vector<std::string> SubcommandNames(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// The command closest to a mistyped one (at most two edits away), or "".
std::string NearestCommand(CLI::App& app, const std::string& typed) { return Nearest(SubcommandNames(app), typed); }

// "cairn runs show" for the subcommand `app`.
std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (; app; app = app->get_parent()) path = app->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// For arguments CLI11 could not place: a did-you-mean for a mistyped
// subcommand of the deepest command given, or for a mistyped long option
// of it or of its parents (options fall through). Prints the error and
// returns true when it found one.
bool SuggestForExtras(CLI::App& app) {
  CLI::App* command = &app;
  while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
  std::vector<std::string> options;
  for (const CLI::App* a = command; a; a = a->get_parent()) {
    for (const CLI::Option* opt : a->get_options()) {
      for (const std::string& name : opt->get_lnames()) options.push_back(name);
    }
  }
  for (const std::string& arg : app.remaining(true)) {
    if (arg.starts_with("--")) {
      std::string typed = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
      std::string near = Nearest(options, typed);
      if (near.empty()) continue;
      std::fprintf(stderr, "cairn: error: unknown option '--%s' for '%s'\nhint: did you mean '--%s'?\n", typed.c_str(),
                   CommandPath(command).c_str(), near.c_str());
      return true;
    }
    if (arg.starts_with("-") || command == &app) continue;  // the top level: see main
    std::string near = NearestCommand(*command, arg);
    if (near.empty()) continue;
    std::fprintf(stderr, "cairn: error: unknown command '%s' for '%s'\nhint: did you mean '%s %s'?\n", arg.c_str(),
                 CommandPath(command).c_str(), CommandPath(command).c_str(), near.c_str());
    return true;
  }
  return false;
}

}  // namespace cairn::cli

int main(int argc, char** argv) {
  using namespace cairn::cli;
  Context ctx;
  CLI::App app("cairn: version datasets beside git, track experiments, reproduce results.", "cairn");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-C", ctx.dir, "Run as if cairn was started in DIR")->type_name("DIR");
  app.set_version_flag("--version", std::string("cairn ") + cairn::kVersion);
  app.footer("Run 'cairn <command> --help' for a command's options. Exit codes: 0 ok, 1 check negative, 2 error.");
  for (RegisterFn reg : kCommands) reg(app, ctx);
  // Name an unknown command plainly (CLI11 would only say one is required).
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-C") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) known |= sub->get_name() == arg;
    if (!known) {
      std::string near = NearestCommand(app, arg);
      std::fprintf(stderr, "cairn: error: unknown command '%s'\nhint: %s\n", arg.c_str(),
                   near.empty() ? "run 'cairn --help' for the list of commands"
                                : ("did you mean 'cairn " + near + "'?").c_str());
      return kExitError;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    if (SuggestForExtras(app)) return kExitError;
    std::fprintf(stderr, "cairn: error: %s\nhint: run 'cairn --help' or 'cairn <command> --help'\n", e.what());
    return kExitError;
  } catch (const CLI::RequiredError& e) {
    // "A subcommand is required" when the one given is mistyped (cairn model shwo).
    if (SuggestForExtras(app)) return kExitError;
    std::fprintf(stderr, "cairn: error: %s\nhint: run 'cairn --help' or 'cairn <command> --help'\n", e.what());
    return kExitError;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cairn: error: %s\nhint: run 'cairn --help' or 'cairn <command> --help'\n", e.what());
    return kExitError;
  }
  return ctx.exit_code;
}
