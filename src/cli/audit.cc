// cairn audit: read, verify and sign the tamper-evident audit log.
#include <ctime>
#include <iostream>

#include "cairn/audit.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

std::string UtcTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

void PrintEntry(const AuditEntry& e) {
  std::cout << "audit " << e.id.substr(0, 12) << "  " << UtcTime(e.time_ms) << "  " << e.action << "\n";
  std::cout << "  by:       " << e.user << " @ " << e.host << "\n";
  if (!e.subjects.empty()) std::cout << "  subjects: " << Join(e.subjects, ", ") << "\n";
  if (!e.reason.empty()) std::cout << "  reason:   " << e.reason << "\n";
  if (!e.details.empty()) std::cout << "  details:  " << DumpJson(e.details) << "\n";
  if (e.prev.size() > 1) {
    std::vector<std::string> shorts;
    for (const auto& p : e.prev) shorts.push_back(p.substr(0, 12));
    std::cout << "  merge:    " << Join(shorts, " ") << "\n";
  }
  if (!e.signature.empty()) {
    std::cout << "  signed:   " << (e.signature.size() >= 24 ? "key " + e.signature.substr(8, 16) : e.signature) << "\n";
  }
  std::cout << "\n";
}

void RegisterLogCommand(CLI::App* cmd, Context& ctx) {
  auto* log = cmd->add_subcommand("log", "List audit entries (oldest first; newest first with -n)");
  log->footer(
      "  cairn audit log --subject model:retriever --since 2026-11-01\n"
      "  cairn audit log --action model. -n 20 --json\n"
      "--subject matches exactly, and model:NAME also matches model:NAME@N. --action\n"
      "matches exactly, or every action under a prefix ending in '.'. TIME is epoch seconds,\n"
      "a date (2026-12-01: from its start, UTC) or a date-time (2026-12-01T14:30:00Z, or with\n"
      "+02:00; without a zone: UTC), as for 'cairn model history --at'.");
  struct Args {
    bool json = false;
    std::string since, subject, action;
    int64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  log->add_flag("--json", a->json, "Print the entries as JSON (doc/json.md, audit)");
  CLI::Option* since = log->add_option("--since", a->since, "Only entries at or after TIME");
  log->add_option("--subject", a->subject, "Only entries about S (e.g. model:NAME, dataset:D@v1, sha256:…)");
  log->add_option("--action", a->action, "Only entries of action A (or prefix 'A.')");
  CLI::Option* limit = log->add_option("-n,--limit", a->limit, "At most N entries (N >= 1), newest first");
  log->callback([&ctx, a, since, limit] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      AuditQuery q;
      if (limit->count() && a->limit < 1) {
        return Fail(Status::InvalidArgument("-n/--limit needs a number of entries of at least 1, not " +
                                                std::to_string(a->limit),
                                            "leave -n out to list every entry"));
      }
      if (since->count()) {  // given empty too: an empty time is a mistake, not "all"
        auto t = ParseAuditTime(a->since);
        if (!t.ok()) return Fail(t.status());
        q.since_ms = *t;
      }
      q.subject = a->subject;
      q.action = a->action;
      q.limit = static_cast<size_t>(a->limit);
      auto entries = ReadAudit(**repo, q);
      if (!entries.ok()) return Fail(entries.status());
      if (a->json) {
        Json out = Json::array();
        for (const AuditEntry& e : *entries) out.push_back(AuditEntryJson(e));
        PrintJson(out);
        return kExitOk;
      }
      for (const AuditEntry& e : *entries) PrintEntry(e);
      if (entries->empty()) std::cerr << "no audit entries match\n";
      return kExitOk;
    });
  });
}

void PrintReport(const AuditVerifyReport& r, const std::string& what) {
  for (const AuditProblem& p : r.problems) std::cout << p.kind << ": " << p.message << "\n";
  for (const std::string& n : r.notes) std::cout << "note: " << n << "\n";
  if (r.ok()) {
    std::cout << what << ": " << r.entries << " entries intact (" << r.signed_entries << " signed), " << r.heads.size()
              << (r.heads.size() == 1 ? " head" : " heads") << "\n";
  } else {
    std::cout << what << ": " << r.problems.size() << (r.problems.size() == 1 ? " problem" : " problems") << " in "
              << r.entries << " entries\n";
  }
}

void RegisterVerifyCommand(CLI::App* cmd, Context& ctx) {
  auto* verify = cmd->add_subcommand("verify", "Re-hash the audit log and check its chain and signatures");
  verify->footer(
      "Finds and names every edited, deleted, reordered or inserted entry, a truncated log,\n"
      "a damaged HEAD and bad signatures. With --remote, checks the entries the remote holds\n"
      "and says whether this clone has them all.\n"
      "Exit status: 0 intact, 1 damage found (each problem listed), 2 error.");
  struct Args {
    bool json = false;
    std::string remote;
  };
  auto a = std::make_shared<Args>();
  verify->add_flag("--json", a->json, "Print the report as JSON (doc/json.md, audit verify)");
  verify->add_option("--remote", a->remote, "Verify the entries held by remote NAME instead");
  verify->callback([&ctx, a] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (!a->remote.empty()) {
        auto spec = FindRemote(**repo, a->remote);
        if (!spec.ok()) return Fail(spec.status());
        auto r = VerifyRemoteAudit(**repo, *spec);
        if (!r.ok()) return Fail(r.status());
        if (a->json) {
          PrintJson(AuditRemoteVerifyJson(*r));
        } else {
          PrintReport(r->report, "remote " + a->remote);
          if (r->missing_locally > 0) {
            std::cout << r->missing_locally << " remote entries are not in the local log (run 'cairn pull "
                      << a->remote << "')\n";
          } else {
            std::cout << "every remote entry is in the local log\n";
          }
        }
        return r->report.ok() ? kExitOk : kExitNegative;
      }
      auto r = VerifyAudit(**repo);
      if (!r.ok()) return Fail(r.status());
      if (a->json) {
        PrintJson(AuditVerifyJson(*r));
      } else {
        PrintReport(*r, "audit log");
      }
      return r->ok() ? kExitOk : kExitNegative;
    });
  });
}

void RegisterKeygenCommand(CLI::App* cmd, Context& ctx) {
  auto* keygen = cmd->add_subcommand("keygen", "Make your Ed25519 key: entries you append from now on are signed");
  keygen->footer(
      "The private key goes to $CAIRN_AUDIT_KEY (default ~/.config/cairn/audit_ed25519.pem,\n"
      "mode 0600); the public key to .cairn/keys/<key id>.pub in this repository: commit it,\n"
      "so every clone can verify your entries.");
  auto force = std::make_shared<bool>(false);
  keygen->add_flag("-f,--force", *force, "Replace an existing private key");
  keygen->callback([&ctx, force] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto key = GenerateAuditKey(**repo, *force);
      if (!key.ok()) return Fail(key.status());
      std::cout << "key " << key->key_id << "\n  private: " << key->private_path << "\n  public:  " << key->public_path
                << " (commit it: git add " << key->public_path << ")\n";
      return kExitOk;
    });
  });
}

}  // namespace

void RegisterAudit(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("audit", "The tamper-evident log of governance events");
  cmd->require_subcommand(1);
  cmd->footer(
      "Golden tags, tag deletions, gc --apply, remote gc, --force overrides and model registry\n"
      "changes are appended to .cairn/audit/ as hash-chained entries; push and pull carry them.\n"
      "  cairn audit log [--json] [--since TIME] [--subject S] [--action A] [-n N]\n"
      "  cairn audit verify [--json] [--remote NAME]\n"
      "  cairn audit keygen [--force]");
  RegisterLogCommand(cmd, ctx);
  RegisterVerifyCommand(cmd, ctx);
  RegisterKeygenCommand(cmd, ctx);
}

}  // namespace cairn::cli
