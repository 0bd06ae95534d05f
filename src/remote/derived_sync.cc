// Derived objects on remotes (remote/derived_sync.h).
#include "remote/derived_sync.h"

#include "cairn/dataset.h"
#include "remote/transfer.h"

namespace cairn {
namespace {

Result<Oid> ParseRefText(std::string text, const std::string& where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto oid = Oid::Parse(text);
  if (!oid.ok()) return Status::Corruption(where + ": not an oid");
  return *oid;
}

}  // namespace

Result<OidSet> DerivedSubjects(Repo& repo, const std::vector<Oid>& versions) {
  OidSet subjects;
  for (const Oid& v : versions) {
    subjects.insert(v);
    if (!repo.store().Has(v)) continue;
    CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, v));
    subjects.insert(version.object);
    if (version.kind != ObjectKind::kTree || !repo.store().Has(version.object)) continue;
    CAIRN_ASSIGN_OR_RETURN(Tree tree, LoadFiles(repo, version));
    for (const TreeEntry& e : tree.entries) subjects.insert(e.oid);
  }
  return subjects;
}

Status PlanDerivedPush(Repo& repo, const OidSet& subjects, std::vector<Oid>* meta, std::vector<DerivedRef>* refs,
                       std::vector<std::string>* warnings) {
  if (subjects.empty()) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> local, ListDerived(repo));
  for (DerivedRef& ref : local) {
    if (!subjects.count(ref.subject) || !repo.store().Has(ref.object)) continue;
    // Only what reads back whole goes out (a damaged one is fsck's to report).
    auto checked = GetDerived(repo, ref.kind, ref.subject, ref.key);
    if (!checked.ok()) {
      if (checked.status().code() != Code::kCorruption) return checked.status();
      warnings->push_back(ref.Name() + " not pushed: " + checked.status().message());
      continue;
    }
    meta->push_back(ref.object);
    refs->push_back(std::move(ref));
  }
  return Status::OK();
}

Status PublishDerived(Backend& backend, const std::set<std::string>& remote_keys, const std::vector<DerivedRef>& refs,
                      TransferReport* report) {
  for (const DerivedRef& ref : refs) {
    std::string key = ref.Name();
    if (remote_keys.count(key)) continue;  // the remote's result for the same subject stays
    CAIRN_RETURN_IF_ERROR(backend.Put(key, ref.object.ToString() + "\n"));
    report->derived++;
  }
  return Status::OK();
}

Result<std::vector<DerivedRef>> ListRemoteDerived(Backend& backend, std::vector<std::string>* problems) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(kRemoteDerived));
  std::vector<DerivedRef> out;
  for (const RemoteObject& o : listed) {
    auto ref = ParseDerivedRefName(o.key);
    if (!ref.ok()) {
      if (problems) problems->push_back(o.key + ": not a derived object ref");
      continue;
    }
    auto text = backend.Get(o.key);
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) continue;  // removed since the listing
      return text.status();
    }
    auto oid = ParseRefText(*text, o.key);
    if (!oid.ok()) {
      if (problems) problems->push_back(oid.status().message());
      continue;
    }
    ref->object = *oid;
    out.push_back(std::move(*ref));
  }
  return out;
}

Status FetchDerived(Repo& repo, RemoteSession& session, const OidSet& subjects, std::vector<DerivedRef>* arrived,
                    TransferReport* report) {
  if (subjects.empty()) return Status::OK();
  Backend& backend = session.backend();
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(kRemoteDerived));
  std::vector<DerivedRef> wanted;
  std::vector<Oid> objects;
  for (const RemoteObject& o : listed) {
    auto ref = ParseDerivedRefName(o.key);
    if (!ref.ok()) {
      report->warnings.push_back("remote ref " + o.key + " skipped: not a derived object ref");
      continue;
    }
    if (!subjects.count(ref->subject)) continue;
    // This clone's own result stays (a damaged one is fsck's to report).
    auto mine = GetDerived(repo, ref->kind, ref->subject, ref->key);
    if (!mine.ok() || mine->has_value()) continue;
    auto text = backend.Get(o.key);
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) continue;
      return text.status();
    }
    auto oid = ParseRefText(*text, o.key);
    if (!oid.ok() || !session.index().HasObject(*oid)) {
      report->warnings.push_back("remote ref " + o.key + " skipped: " +
                                 (oid.ok() ? "it names an object the remote lacks" : oid.status().message()));
      continue;
    }
    ref->object = *oid;
    objects.push_back(*oid);
    wanted.push_back(std::move(*ref));
  }
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, repo.store(), repo.tmp_dir(), objects, false, report));
  arrived->insert(arrived->end(), wanted.begin(), wanted.end());
  return Status::OK();
}

Status WriteFetchedDerived(Repo& repo, const std::vector<DerivedRef>& arrived, TransferReport* report) {
  for (const DerivedRef& ref : arrived) {
    Status s = ImportDerived(repo, ref);
    if (s.ok()) {
      report->derived++;
    } else if (s.code() == Code::kCorruption) {
      report->warnings.push_back("remote " + ref.Name() + " skipped: " + s.message());
    } else if (s.code() != Code::kAlreadyExists) {
      return s;
    }
  }
  return Status::OK();
}

}  // namespace cairn
