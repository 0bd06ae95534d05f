// Writing objects: appending small ones to open packs (in parallel), moving
// finished packs into place, and storing loose objects.
#include "store/object_store_impl.h"

namespace cairn {

Result<ObjectStore::Impl::OpenPack*> ObjectStore::Impl::AcquirePack() {
  for (auto& op : open_packs) {
    if (!op->busy) {
      op->busy = true;
      return op.get();
    }
  }
  CAIRN_ASSIGN_OR_RETURN(PackWriter w, PackWriter::Create(tmp_dir));
  uint32_t n = static_cast<uint32_t>(packs.size());
  packs.push_back(PackFile{w.temp_path(), Fd()});
  open_packs.push_back(std::make_unique<OpenPack>(OpenPack{std::move(w), n, true}));
  return open_packs.back().get();
}

Status ObjectStore::Impl::ReleasePack(OpenPack* op, const Oid& oid, const Result<PackEntry>& e) {
  op->busy = false;
  pack_released.notify_all();
  if (!e.ok()) return e.status();
  packed.Insert(oid, PackLocation{op->pack, e->offset, e->length});
  if (op->writer.size() >= kMaxPackSize) return FinishPack(op);
  return Status::OK();
}

Status ObjectStore::Impl::AppendPacked(const Oid& oid, std::string_view data) {
  OpenPack* op;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (packed.Find(oid)) return Status::OK();
    CAIRN_ASSIGN_OR_RETURN(op, AcquirePack());
  }
  Result<PackEntry> e = op->writer.Append(oid, data);
  std::lock_guard<std::mutex> lock(mu);
  return ReleasePack(op, oid, e);
}

Status ObjectStore::Impl::AppendPackedLocked(const Oid& oid, std::string_view data) {
  if (packed.Find(oid)) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(OpenPack* op, AcquirePack());
  return ReleasePack(op, oid, op->writer.Append(oid, data));
}

Status ObjectStore::Impl::FinishPack(OpenPack* op) {
  CAIRN_ASSIGN_OR_RETURN(fs::path final_path, op->writer.Finish(packs_dir, tmp_dir));
  // A pack with the same name (the same objects: a repair rebuilding an
  // intact pack) was just replaced by this one.
  for (uint32_t n = 0; n < packs.size(); ++n) {
    if (n == op->pack || packs[n].path != final_path) continue;
    packed.DropPack(n);
    packs[n].gone = true;
  }
  packs[op->pack].path = final_path;
  packs[op->pack].fd = Fd();
  packs[op->pack].gone = false;
  for (auto it = open_packs.begin(); it != open_packs.end(); ++it) {
    if (it->get() == op) {
      open_packs.erase(it);
      break;
    }
  }
  return Status::OK();
}

Status ObjectStore::Impl::FinishPacks() {
  while (!open_packs.empty()) CAIRN_RETURN_IF_ERROR(FinishPack(open_packs.back().get()));
  return Status::OK();
}

Status ObjectStore::Impl::PutLooseFromTemp(TempFile* tmp, const Oid& oid, bool sync) {
  fs::path dest = LoosePath(oid);
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0) return Status::OK();  // already stored; tmp is dropped
  ::fchmod(tmp->fd(), 0444);  // discourages writes through hard links
  Status s = tmp->Commit(dest, sync);
  if (s.code() == Code::kIOError) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
    return tmp->Commit(dest, sync);
  }
  return s;
}

Status ObjectStore::Impl::PutLoose(const Oid& oid, std::string_view data, bool sync) {
  struct stat st;
  if (::stat(LoosePath(oid).c_str(), &st) == 0) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(tmp_dir, "obj"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(data));
  return PutLooseFromTemp(&tmp, oid, sync);
}

}  // namespace cairn
