// Healing the cache from a remote: damaged objects found by a verified
// checkout are dropped and fetched again, then the checkout runs once more.
#include <unistd.h>

#include "cairn/remote.h"
#include "remote/session.h"
#include "remote/transfer.h"
#include "util/file.h"

namespace cairn {

Status RepairObjects(Repo& repo, const RemoteSpec& spec, const std::vector<Oid>& damaged, RepairReport* report) {
  CAIRN_ASSIGN_OR_RETURN(auto session, RemoteSession::Open(spec, IndexCacheDir(repo, spec), /*for_write=*/false, 0));
  std::vector<Oid> wanted;
  for (const Oid& oid : damaged) {
    if (!session->index().HasObject(oid)) continue;  // the remote cannot help with this one
    wanted.push_back(oid);
  }
  if (report) report->remote = spec.name;
  if (wanted.empty()) {
    return Status::NotFound("remote " + spec.name + " does not hold the damaged objects either");
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_RETURN_IF_ERROR(repo.store().Reload());
  // Drop the bad copies first, or the download would find them present.
  OidSet packed_bad;
  std::vector<Oid> bad;
  for (const Oid& oid : wanted) {
    if (repo.store().Verify(oid).code() != Code::kCorruption) continue;  // intact after all (or gone)
    bad.push_back(oid);
    if (auto loose = repo.store().LooseFile(oid); loose.ok()) {
      if (::unlink(loose->c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno("cannot remove damaged object " + loose->string(), errno);
      }
    } else {
      packed_bad.insert(oid);
    }
  }
  if (!packed_bad.empty()) CAIRN_RETURN_IF_ERROR(repo.store().RepairPacks(packed_bad).status());
  uint64_t chunks = 0, bytes = 0;
  CAIRN_RETURN_IF_ERROR(session->Download(repo.store(), repo.tmp_dir(), bad, /*progress=*/false, &chunks, &bytes));
  CAIRN_RETURN_IF_ERROR(repo.store().Commit());
  for (const Oid& oid : bad) {
    CAIRN_RETURN_IF_ERROR(repo.store().Verify(oid));
    if (report) report->repaired.push_back(oid);
  }
  if (wanted.size() < damaged.size()) {
    return Status::NotFound(std::to_string(damaged.size() - wanted.size()) + " damaged object(s) are not on remote " +
                            spec.name);
  }
  return Status::OK();
}

Result<std::vector<CheckoutResult>> CheckoutAndRepair(Repo& repo, const std::vector<std::string>& filter,
                                                      const CheckoutOptions& options, RepairReport* report) {
  std::vector<Oid> damaged;
  CheckoutOptions first = options;
  first.damaged = &damaged;
  auto result = Checkout(repo, filter, first);
  if (result.ok() || damaged.empty()) return result;
  auto spec = FindRemote(repo, "");
  if (!spec.ok()) return result;  // no remote: the hint already says what to do
  RepairReport local;
  Status repaired = RepairObjects(repo, *spec, damaged, &local);
  if (report) *report = local;
  if (!repaired.ok()) {
    return Status::Corruption(result.status().message() + "; repair from remote " + spec->name +
                                  " failed: " + repaired.message(),
                              "re-add the data from its source, or fetch it from another remote");
  }
  CheckoutOptions again = options;
  again.damaged = options.damaged;
  return Checkout(repo, filter, again);
}

}  // namespace cairn
