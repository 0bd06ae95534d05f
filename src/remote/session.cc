#include "remote/session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <optional>

#include "util/file.h"
#include "util/progress.h"

namespace cairn {
namespace {

constexpr char kMarkerFormat[] = "cairn-remote 1\n";

std::string MarkerText(const ChunkParams& p) {
  return std::string(kMarkerFormat) + "chunking fastcdc gear=splitmix64/cairncdc min=" + std::to_string(p.min_size) +
         " avg=" + std::to_string(p.avg_size) + " max=" + std::to_string(p.max_size) + "\n";
}

Result<ChunkParams> ParseMarker(const std::string& text, const std::string& where) {
  if (text.rfind("cairn-remote ", 0) != 0) {
    return Status::Corruption(where + " is not a cairn remote (its 'cairn-remote' file is damaged)");
  }
  if (text.rfind(kMarkerFormat, 0) != 0) {
    return Status::FailedPrecondition(where + " uses a newer remote format (" + text.substr(0, text.find('\n')) + ")",
                                      "upgrade cairn");
  }
  unsigned long long min = 0, avg = 0, max = 0;
  size_t at = text.find("chunking fastcdc");
  if (at == std::string::npos ||
      std::sscanf(text.c_str() + at, "chunking fastcdc gear=splitmix64/cairncdc min=%llu avg=%llu max=%llu", &min, &avg,
                  &max) != 3 ||
      min == 0 || avg < min || max < avg || max > kMaxChunkSize || (avg & (avg - 1)) != 0) {
    return Status::Corruption(where + ": unknown chunking parameters in 'cairn-remote'");
  }
  return ChunkParams{min, avg, max};
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tree, version, run records and metric histories are loose objects in the
// local store (prefix lookups search loose files); plain blobs are packed
// when small, as 'cairn add' would store them.
bool IsMetadataObject(std::string_view data) {
  return data.size() < (1u << 20) && data.substr(0, 6) == "cairn-";
}

Status StoreSmall(ObjectStore& store, const Oid& oid, std::string_view data) {
  if (Oid::Of(data) != oid) {
    return Status::Corruption("object " + oid.Short() + " read from the remote does not match its oid",
                              "the remote is damaged; check it with 'cairn fsck' on the remote");
  }
  auto got = IsMetadataObject(data) ? store.PutObject(data) : store.PutBlob(data);
  return got.status();
}

}  // namespace

Status ParallelFor(size_t n, int jobs, const std::function<Status(size_t)>& fn) {
  if (n == 0) return Status::OK();
  size_t threads = std::min<size_t>(n, std::max(1, jobs));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first.ok()) first = s;
        failed = true;
      }
    }
  };
  if (threads == 1) {
    work();
    return first;
  }
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  return first;
}

// ---- RemoteSession -----------------------------------------------------------

Result<std::unique_ptr<RemoteSession>> RemoteSession::Open(const RemoteSpec& spec, const fs::path& index_cache,
                                                           bool for_write, int jobs) {
  std::unique_ptr<RemoteSession> s(new RemoteSession());
  CAIRN_ASSIGN_OR_RETURN(s->backend_, OpenBackend(spec));
  CAIRN_RETURN_IF_ERROR(for_write ? s->backend_->Prepare() : s->backend_->Check());
  bool s3 = spec.url.rfind("s3://", 0) == 0;
  s->jobs_ = jobs > 0 ? jobs : spec.jobs > 0 ? spec.jobs : s3 ? 8 : 4;
  auto marker = s->backend_->Get(remote_keys::kMarker);
  if (marker.ok()) {
    CAIRN_ASSIGN_OR_RETURN(ChunkParams params, ParseMarker(*marker, s->Describe()));
    s->chunker_ = Chunker(params);
  } else if (marker.status().code() != Code::kNotFound) {
    return marker.status();
  } else if (for_write) {
    // A new remote. CAIRN_CHUNK_AVG (a power of two) overrides the average
    // chunk size; it exists for bench/chunk_sizes.py, which measures the choice.
    ChunkParams params = kDefaultChunkParams;
    if (const char* avg = std::getenv("CAIRN_CHUNK_AVG")) {
      size_t a = std::strtoull(avg, nullptr, 10);
      if (a >= 1024 && (a & (a - 1)) == 0) params = ChunkParams{a / 4, a, a * 4};
    }
    s->chunker_ = Chunker(params);
    CAIRN_RETURN_IF_ERROR(s->backend_->Put(remote_keys::kMarker, MarkerText(params)));
  }
  CAIRN_RETURN_IF_ERROR(s->LoadIndex(index_cache));
  return s;
}

Status RemoteSession::LoadIndex(const fs::path& cache) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend_->List(remote_keys::kPacks));
  std::map<std::string, RemoteObject> packs, indexes;
  for (const RemoteObject& o : listed) {
    std::string name = o.key.substr(std::strlen(remote_keys::kPacks));
    if (EndsWith(name, ".pack")) packs[name.substr(0, name.size() - 5)] = o;
    if (EndsWith(name, ".idx")) indexes[name.substr(0, name.size() - 4)] = o;
  }
  std::vector<std::string> hexes;
  for (const auto& [hex, o] : indexes) {
    if (packs.count(hex)) {
      hexes.push_back(hex);
    } else {
      load_problems_.push_back("index " + remote_keys::Index(hex) + " has no pack");
    }
  }
  for (const auto& [hex, o] : packs) {
    if (!indexes.count(hex)) orphan_packs_.push_back(o);
  }
  if (!cache.empty()) CAIRN_RETURN_IF_ERROR(MakeDirs(cache));
  std::vector<std::optional<PackIndex>> decoded(hexes.size());
  std::vector<std::string> problems(hexes.size());
  // An intact index (checksummed, naming its pack) that disagrees with its
  // pack's size: the pack is damaged, not missing.
  std::vector<std::string> pack_damage(hexes.size());
  auto check_size = [&](size_t i, const PackIndex& idx) {
    const RemoteObject& pack = packs.at(hexes[i]);
    if (idx.pack_size == pack.size) return;
    pack_damage[i] = "it is " + std::to_string(pack.size) + " bytes but its index records " +
                     std::to_string(idx.pack_size) +
                     (pack.size < idx.pack_size ? " (it was cut short)" : " (it was overwritten)");
  };
  CAIRN_RETURN_IF_ERROR(ParallelFor(hexes.size(), jobs_, [&](size_t i) -> Status {
    const std::string& hex = hexes[i];
    std::string key = remote_keys::Index(hex);
    fs::path cached = cache.empty() ? fs::path() : cache / (hex + ".idx");
    if (!cached.empty()) {
      auto data = ReadFile(cached);
      if (data.ok()) {
        auto idx = PackIndex::Decode(*data, cached.string(), chunker_.params().max_size);
        if (idx.ok() && idx->pack == hex) {
          check_size(i, *idx);
          decoded[i] = std::move(*idx);
          return Status::OK();
        }
      }
    }
    CAIRN_ASSIGN_OR_RETURN(std::string data, backend_->Get(key));
    auto idx = PackIndex::Decode(data, Describe() + "/" + key, chunker_.params().max_size);
    if (!idx.ok() || idx->pack != hex) {
      problems[i] = idx.ok() ? "index " + key + " does not describe its pack" : idx.status().message();
      return Status::OK();
    }
    check_size(i, *idx);
    if (!cached.empty()) (void)WriteFileAtomic(cached, data, /*sync=*/false);  // a cache: best effort
    decoded[i] = std::move(*idx);
    return Status::OK();
  }));
  for (size_t i = 0; i < hexes.size(); ++i) {
    if (!decoded[i]) {
      load_problems_.push_back(problems[i]);
      continue;
    }
    if (!pack_damage[i].empty()) {
      damaged_index_.Add(*decoded[i]);
      damaged_packs_.push_back({packs[hexes[i]].key, pack_damage[i]});
      continue;
    }
    index_.Add(*decoded[i]);
    pack_indexes_.push_back(std::move(*decoded[i]));
    indexed_packs_.push_back(packs[hexes[i]]);
  }
  // Forget cached indexes of packs the remote no longer has (after its gc).
  if (!cache.empty()) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(cache, ec)) {
      std::string name = f.path().filename().string();
      if (EndsWith(name, ".idx") && !indexes.count(name.substr(0, name.size() - 4))) fs::remove(f.path(), ec);
    }
  }
  return Status::OK();
}

Status RemoteSession::Lacking(const Oid& oid, const Status& why) const {
  std::vector<Oid> chunks = {oid};
  const Recipe* recipe = index_.FindRecipe(oid);
  if (!recipe) recipe = damaged_index_.FindRecipe(oid);
  if (recipe) chunks = recipe->chunks;
  for (const Oid& c : chunks) {
    if (index_.FindChunk(c)) continue;
    const RemoteIndex::Location* loc = damaged_index_.FindChunk(c);
    if (!loc) continue;
    const DamagedPack& pack = damaged_packs_[loc->pack];
    return Status::Corruption(Describe() + ": object " + oid.ToString() + " is in " + pack.key +
                                  ", which is damaged: " + pack.problem + "; the remote's data is damaged",
                              "push the data again from a clone that has it intact ('cairn push' stores it "
                              "anew), and check the remote with 'cairn fsck' on it");
  }
  if (why.code() == Code::kNotFound && !load_problems_.empty()) {
    // Perhaps in an index that could not be read: the remote is damaged,
    // which pushing again may not mend.
    return Status::Corruption(Describe() + ": object " + oid.ToString() +
                                  " is in none of the remote's intact indexes, and the remote is damaged: " +
                                  load_problems_[0] +
                                  (load_problems_.size() > 1
                                       ? " (and " + std::to_string(load_problems_.size() - 1) + " more)"
                                       : std::string()),
                              "check the remote with 'cairn fsck' on it, then push the data again from a clone "
                              "that has it intact ('cairn push')");
  }
  return why;
}

Result<std::string> RemoteSession::ReadObject(const Oid& oid) {
  auto found = index_.ObjectChunks(oid);
  if (!found.ok()) return Lacking(oid, found.status());
  const auto& chunks = *found;
  std::string out;
  for (const RemoteIndex::Location* loc : chunks) {
    std::string key = remote_keys::Pack(index_.packs()[loc->pack]);
    CAIRN_ASSIGN_OR_RETURN(std::string stored, backend_->GetRange(key, loc->entry.offset, loc->entry.stored));
    CAIRN_ASSIGN_OR_RETURN(std::string raw, DecompressChunk(stored, loc->entry, Describe() + "/" + key));
    out += raw;
  }
  if (Oid::Of(out) != oid) {
    return Status::Corruption(Describe() + ": object " + oid.Short() + " does not match its oid",
                              "the remote is damaged; check it with 'cairn fsck' on the remote");
  }
  return out;
}

namespace {

// One object being assembled from downloaded chunks.
struct Assembly {
  Oid oid;
  uint64_t size = 0;
  size_t remaining = 0;
  bool single = false;  // one chunk: delivered once, no assembly
  std::mutex mu;
  std::string buffer;               // small objects
  std::optional<TempFile> file;     // large objects
};

// A byte range of one pack covering several wanted chunks.
struct Range {
  uint32_t pack;
  uint64_t start, end;
  std::vector<const RemoteIndex::Location*> chunks;
};

constexpr uint64_t kMaxGap = 256 << 10;    // read through gaps this small instead of splitting
constexpr uint64_t kMaxRange = 16 << 20;  // bytes per ranged GET

}  // namespace

Status RemoteSession::Download(ObjectStore& store, const fs::path& tmp_dir, const std::vector<Oid>& oids,
                               bool progress_enabled, uint64_t* chunks_read, uint64_t* bytes_read) {
  std::vector<std::unique_ptr<Assembly>> objects;
  std::unordered_map<Oid, std::vector<std::pair<uint32_t, uint64_t>>, OidHash> demands;
  std::vector<std::vector<const RemoteIndex::Location*>> by_pack(index_.packs().size());
  uint64_t total = 0;
  for (const Oid& oid : oids) {
    auto chunks = index_.ObjectChunks(oid);
    if (chunks.status().code() == Code::kCorruption) {
      return Status::Corruption(Describe() + ": object " + oid.ToString() + " cannot be read: " +
                                    chunks.status().message() + "; the remote's index is damaged",
                                "check the remote with 'cairn fsck' on it, then push the data again from a clone "
                                "that has it intact ('cairn push')");
    }
    if (!chunks.ok()) {
      return Lacking(oid, Status::NotFound(Describe() + " lacks object " + oid.ToString() + " (" +
                                               chunks.status().message() + ")",
                                           "push it from the clone that has it ('cairn push'), then retry"));
    }
    auto a = std::make_unique<Assembly>();
    a->oid = oid;
    a->remaining = chunks->size();
    a->single = chunks->size() == 1;
    uint32_t n = static_cast<uint32_t>(objects.size());
    for (const RemoteIndex::Location* loc : *chunks) {
      auto& d = demands[loc->entry.oid];
      if (d.empty()) by_pack[loc->pack].push_back(loc);
      d.emplace_back(n, a->size);
      a->size += loc->entry.raw;
    }
    total += a->size;
    objects.push_back(std::move(a));
  }
  std::vector<Range> ranges;
  for (uint32_t p = 0; p < by_pack.size(); ++p) {
    auto& locs = by_pack[p];
    std::sort(locs.begin(), locs.end(), [](auto* a, auto* b) { return a->entry.offset < b->entry.offset; });
    for (const RemoteIndex::Location* loc : locs) {
      uint64_t end = loc->entry.offset + loc->entry.stored;
      if (ranges.empty() || ranges.back().pack != p || loc->entry.offset > ranges.back().end + kMaxGap ||
          end - ranges.back().start > kMaxRange) {
        ranges.push_back({p, loc->entry.offset, end, {}});
      }
      ranges.back().end = std::max(ranges.back().end, end);
      ranges.back().chunks.push_back(loc);
    }
  }

  Progress progress("fetch", objects.size(), total, progress_enabled);
  std::atomic<uint64_t> chunk_count{0}, wire{0};
  auto finish = [&](Assembly& a) -> Status {
    progress.Add(1, 0);
    if (a.file) {
      fs::path path = a.file->path();
      CAIRN_ASSIGN_OR_RETURN(Oid got, store.AdoptFile(path));
      a.file.reset();
      if (got != a.oid) {
        return Status::Corruption(Describe() + ": object " + a.oid.Short() + " assembled from its chunks does not match its oid",
                                  "the remote is damaged; check it with 'cairn fsck' on the remote");
      }
      return Status::OK();
    }
    Status s = StoreSmall(store, a.oid, a.buffer);
    std::string().swap(a.buffer);
    return s;
  };
  auto deliver = [&](Assembly& a, uint64_t offset, const std::string& raw) -> Status {
    progress.AddBytes(raw.size());
    if (a.single && a.size < ObjectStore::kSmallBlobLimit) {  // the usual small file: no copy
      progress.Add(1, 0);
      return StoreSmall(store, a.oid, raw);
    }
    std::unique_lock lock(a.mu);
    if (a.size < ObjectStore::kSmallBlobLimit) {
      if (a.buffer.size() != a.size) a.buffer.resize(a.size);
      std::memcpy(a.buffer.data() + offset, raw.data(), raw.size());
    } else {
      if (!a.file) {
        CAIRN_ASSIGN_OR_RETURN(TempFile f, TempFile::Create(tmp_dir, "fetch"));
        a.file.emplace(std::move(f));
      }
      if (::pwrite(a.file->fd(), raw.data(), raw.size(), static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(raw.size())) {
        return Status::FromErrno("cannot write " + a.file->path().string(), errno);
      }
    }
    if (a.remaining > 0 && --a.remaining == 0) return finish(a);
    return Status::OK();
  };
  Status s = ParallelFor(ranges.size(), jobs_, [&](size_t i) -> Status {
    const Range& r = ranges[i];
    std::string key = remote_keys::Pack(index_.packs()[r.pack]);
    CAIRN_ASSIGN_OR_RETURN(std::string data, backend_->GetRange(key, r.start, r.end - r.start));
    wire += data.size();
    for (const RemoteIndex::Location* loc : r.chunks) {
      std::string_view stored(data.data() + (loc->entry.offset - r.start), loc->entry.stored);
      CAIRN_ASSIGN_OR_RETURN(std::string raw, DecompressChunk(stored, loc->entry, Describe() + "/" + key));
      chunk_count++;
      for (const auto& [obj, offset] : demands.at(loc->entry.oid)) {
        CAIRN_RETURN_IF_ERROR(deliver(*objects[obj], offset, raw));
      }
    }
    return Status::OK();
  });
  *chunks_read += chunk_count;
  *bytes_read += wire;
  return s;
}

// ---- PackUploader --------------------------------------------------------------

PackUploader::PackUploader(Backend& backend, const RemoteIndex& existing, int jobs)
    : backend_(backend), existing_(existing), max_queued_(static_cast<size_t>(std::max(1, jobs)) + 1) {
  for (int i = 0; i < std::max(1, jobs); ++i) workers_.emplace_back([this] { Worker(); });
}

PackUploader::~PackUploader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (error_.ok()) error_ = Status::IOError("upload abandoned");
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

bool PackUploader::Has(const Oid& chunk) {
  if (existing_.FindChunk(chunk)) return true;
  std::lock_guard lock(mu_);
  return added_.count(chunk) > 0;
}

Status PackUploader::AddChunk(const Oid& oid, std::string_view stored, uint32_t raw, Codec codec) {
  std::unique_lock lock(mu_);
  if (!error_.ok()) return error_;
  if (!added_.insert(oid).second) return Status::OK();
  builder_.AddChunk(oid, stored, raw, codec);
  chunks_added_++;
  if (builder_.size() >= kTargetPackSize) return SealLocked(lock, /*only_if_full=*/true);
  return Status::OK();
}

Status PackUploader::AddRecipe(Recipe recipe) {
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  builder_.AddRecipe(std::move(recipe));
  return Status::OK();
}

Status PackUploader::SealLocked(std::unique_lock<std::mutex>& lock, bool only_if_full) {
  if (builder_.empty()) return Status::OK();
  cv_.wait(lock, [&] { return queue_.size() + in_flight_ < max_queued_ || !error_.ok(); });
  if (!error_.ok()) return error_;
  // While this thread waited, another may have sealed the pack it filled.
  if (builder_.empty() || (only_if_full && builder_.size() < kTargetPackSize)) return Status::OK();
  Job job;
  job.seq = next_seq_++;
  builder_.Finish(&job.pack, &job.index);
  queue_.push_back(std::move(job));
  cv_.notify_all();
  return Status::OK();
}

void PackUploader::Worker() {
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    in_flight_++;
    bool go = error_.ok();
    lock.unlock();
    Status s = go ? backend_.Put(remote_keys::Pack(job.index.pack), job.pack) : Status::OK();
    lock.lock();
    // Indexes go up in pack order: a recipe may name chunks of earlier packs.
    cv_.wait(lock, [&] { return published_seq_ == job.seq || !error_.ok(); });
    if (s.ok() && error_.ok()) {
      lock.unlock();
      std::string encoded = job.index.Encode();
      s = backend_.Put(remote_keys::Index(job.index.pack), encoded);
      lock.lock();
      if (s.ok()) {
        packs_written_++;
        bytes_written_ += job.pack.size() + encoded.size();
      }
    }
    if (!s.ok() && error_.ok()) error_ = s;
    published_seq_++;
    in_flight_--;
    cv_.notify_all();
  }
}

Status PackUploader::Finish() {
  {
    std::unique_lock lock(mu_);
    Status s = SealLocked(lock, /*only_if_full=*/false);
    if (!s.ok() && error_.ok()) error_ = s;
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace cairn
