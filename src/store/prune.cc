// Garbage collection and repair of the cache's packs and loose objects.
#include <unistd.h>

#include <set>

#include "store/object_store_impl.h"
#include "util/sha256.h"

namespace cairn {

Result<PruneStats> ObjectStore::Prune(const OidSet& live, bool apply) {
  PruneStats stats;
  std::lock_guard<std::mutex> lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());

  // Loose objects.
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(impl_->objects_dir, ec)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      auto oid = Oid::Parse(dir.path().filename().string() + f.path().filename().string());
      std::error_code size_ec;
      uint64_t size = f.file_size(size_ec);
      if (oid.ok() && live.count(*oid)) {
        stats.objects_kept++;
        stats.bytes_kept += size;
        continue;
      }
      stats.objects_removed++;
      stats.bytes_removed += size;
      if (apply && ::unlink(f.path().c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno("cannot remove " + f.path().string(), errno);
      }
    }
  }
  if (ec) return Status::FromErrno("cannot list " + impl_->objects_dir.string(), ec.value());

  // Packs: group entries by pack, rewrite the ones holding garbage.
  std::vector<std::vector<std::pair<Oid, PackLocation>>> by_pack(impl_->packs.size());
  impl_->packed.ForEach([&](const Oid& oid, const PackLocation& loc) { by_pack[loc.pack].emplace_back(oid, loc); });
  std::vector<uint32_t> rewrite;
  for (uint32_t n = 0; n < by_pack.size(); ++n) {
    uint64_t dead = 0;
    for (const auto& [oid, loc] : by_pack[n]) {
      if (live.count(oid)) {
        stats.objects_kept++;
        stats.bytes_kept += loc.length;
      } else {
        stats.objects_removed++;
        stats.bytes_removed += loc.length;
        dead++;
      }
    }
    if (dead > 0) rewrite.push_back(n);
  }
  if (apply && !rewrite.empty()) {
    for (uint32_t n : rewrite) {
      CAIRN_ASSIGN_OR_RETURN(int fd, impl_->PackFd(n));
      impl_->packed.DropPack(n);  // its live objects are re-appended below
      for (const auto& [oid, loc] : by_pack[n]) {
        if (!live.count(oid)) continue;
        std::string data(loc.length, '\0');
        CAIRN_RETURN_IF_ERROR(PreadAll(fd, data.data(), data.size(), static_cast<off_t>(loc.offset),
                                       impl_->packs[n].path));
        CAIRN_RETURN_IF_ERROR(impl_->AppendPackedLocked(oid, data));
      }
    }
    CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
    // The new packs are durable before the old ones go.
    CAIRN_RETURN_IF_ERROR(SyncFileSystem(impl_->cache_dir));
    for (uint32_t n : rewrite) {
      fs::path pack = impl_->packs[n].path;
      fs::path idx = pack;
      idx.replace_extension(".idx");
      impl_->packs[n].fd = Fd();
      impl_->packs[n].gone = true;
      ::unlink(idx.c_str());  // index first: a pack without index is invisible
      ::unlink(pack.c_str());
      stats.packs_rewritten++;
    }
  }

  if (apply) {
    // Leftovers of interrupted commands: packs whose index never landed, and
    // temp files older than an hour (younger ones may belong to a live reader).
    for (const auto& f : fs::directory_iterator(impl_->packs_dir, ec)) {
      if (f.path().extension() != ".pack") continue;
      fs::path idx = f.path();
      idx.replace_extension(".idx");
      if (!fs::exists(idx)) fs::remove(f.path(), ec);
    }
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& f : fs::directory_iterator(impl_->tmp_dir, ec)) {
      std::error_code t_ec;
      if (f.last_write_time(t_ec) < cutoff) fs::remove_all(f.path(), t_ec);
    }
  }
  return stats;
}

Result<std::vector<PackRepair>> ObjectStore::RepairPacks(const OidSet& bad) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
  CAIRN_RETURN_IF_ERROR(impl_->Refresh());
  struct Job {
    PackRepair report;
    fs::path index;
    std::vector<PackEntry> entries;  // in file order
    std::optional<uint32_t> loaded;  // its number, when its index was readable
  };
  std::vector<Job> jobs;
  for (const DamagedPack& d : impl_->damaged) {
    Job job;
    job.report.pack = d.pack;
    job.report.problem = "its index " + d.index.filename().string() + " is damaged (" + d.problem + ")";
    job.index = d.index;
    Status tail;
    auto scanned = ScanPack(d.pack, &tail);  // records carry their oid and length
    if (scanned.ok()) job.entries = std::move(scanned).value();
    const Status& trouble = scanned.ok() ? tail : scanned.status();
    if (!trouble.ok()) job.report.problem += "; the pack: " + WithoutPath(trouble.message(), d.pack);
    jobs.push_back(std::move(job));
  }
  for (uint32_t n = 0; n < impl_->packs.size(); ++n) {
    const PackFile& p = impl_->packs[n];
    if (p.gone || p.path.parent_path() != impl_->packs_dir) continue;
    const std::vector<PackEntry>& entries = impl_->packed.Entries(n);
    size_t damaged = std::count_if(entries.begin(), entries.end(), [&](const PackEntry& e) { return bad.count(e.oid); });
    if (damaged == 0) continue;
    Job job;
    job.report.pack = p.path;
    job.report.problem = std::to_string(damaged) + " damaged object(s)";
    job.index = p.path;
    job.index.replace_extension(".idx");
    job.entries = entries;
    std::sort(job.entries.begin(), job.entries.end(),
              [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
    job.loaded = n;
    jobs.push_back(std::move(job));
  }
  std::vector<PackRepair> out;
  if (jobs.empty()) return out;

  // Copy every object that still matches its oid into new packs, in the old
  // order: a pack whose objects are all intact is rebuilt byte for byte,
  // under its own name.
  const uint32_t first_new = static_cast<uint32_t>(impl_->packs.size());
  for (Job& job : jobs) {
    if (job.loaded) impl_->packed.DropPack(*job.loaded);
    auto fd = OpenRead(job.report.pack);
    if (!fd.ok()) {
      if (fd.status().code() != Code::kNotFound) return fd.status();
      job.report.problem += "; the pack is missing";
      job.report.objects_dropped = job.entries.size();
      continue;
    }
    for (const PackEntry& e : job.entries) {
      std::string data(e.length, '\0');
      Status s = PreadAll(fd->get(), data.data(), data.size(), static_cast<off_t>(e.offset), job.report.pack);
      if (!s.ok() && s.code() != Code::kCorruption) return s;  // an I/O error is no reason to drop data
      if (!s.ok() || Oid::Of(data) != e.oid) {
        job.report.objects_dropped++;
        continue;
      }
      CAIRN_RETURN_IF_ERROR(impl_->AppendPackedLocked(e.oid, data));
      job.report.objects_kept++;
    }
  }
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
  // The new packs are durable before the damaged ones go.
  CAIRN_RETURN_IF_ERROR(SyncFileSystem(impl_->cache_dir));
  std::set<fs::path> written;
  for (uint32_t n = first_new; n < impl_->packs.size(); ++n) written.insert(impl_->packs[n].path);
  for (Job& job : jobs) {
    if (!written.count(job.report.pack)) {  // else it was rebuilt in place
      if (job.loaded) {
        impl_->packs[*job.loaded].fd = Fd();
        impl_->packs[*job.loaded].gone = true;
      }
      ::unlink(job.index.c_str());  // index first: a pack without index is invisible
      ::unlink(job.report.pack.c_str());
    }
    out.push_back(std::move(job.report));
  }
  CAIRN_RETURN_IF_ERROR(impl_->Refresh());
  return out;
}

}  // namespace cairn
