#include "cairn/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <thread>

#include "store/pack.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::RandomBytes;
using testing::TempDir;
using testing::WriteText;

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = ObjectStore::Open(dir_.path() / "cache", dir_.path() / "tmp");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  size_t CountFiles(const fs::path& d) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(d)) n += e.is_regular_file();
    return n;
  }
  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, SmallBlobsArePackedAndSurviveReopen) {
  auto a = store_->PutBlob("hello");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, Oid::Of("hello"));
  EXPECT_TRUE(store_->Has(*a));
  auto read = store_->Read(*a);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "hello");  // readable before Commit (from the open pack)
  ASSERT_TRUE(store_->Commit().ok());
  EXPECT_EQ(CountFiles(dir_.path() / "cache" / "sha256"), 0u);
  EXPECT_EQ(CountFiles(dir_.path() / "cache" / "packs"), 2u);  // .pack + .idx
  Reopen();
  EXPECT_TRUE(store_->Has(*a));
  EXPECT_EQ(*store_->Read(*a), "hello");
  EXPECT_EQ(*store_->Size(*a), 5u);
}

TEST_F(ObjectStoreTest, DuplicateBlobsAreStoredOnce) {
  ASSERT_TRUE(store_->PutBlob("same").ok());
  ASSERT_TRUE(store_->PutBlob("same").ok());
  ASSERT_TRUE(store_->Commit().ok());
  fs::path pack = fs::directory_iterator(dir_.path() / "cache" / "packs")->path();
  pack.replace_extension(".pack");
  auto entries = ScanPack(pack);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 1u);
}

TEST_F(ObjectStoreTest, LargeFilesAreLooseAndReadOnly) {
  std::string big = RandomBytes(ObjectStore::kSmallBlobLimit + 10, 1);
  WriteText(dir_.path() / "big.bin", big);
  uint64_t size = 0;
  auto oid = store_->PutFile(dir_.path() / "big.bin", &size);
  ASSERT_TRUE(oid.ok()) << oid.status().ToString();
  EXPECT_EQ(size, big.size());
  EXPECT_EQ(*oid, Oid::Of(big));
  fs::path loose = dir_.path() / "cache" / "sha256" / oid->Hex().substr(0, 2) / oid->Hex().substr(2);
  ASSERT_TRUE(fs::exists(loose));
  EXPECT_EQ(fs::status(loose).permissions() & fs::perms::owner_write, fs::perms::none);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));  // the temp file was renamed, not copied
}

TEST_F(ObjectStoreTest, CorruptionIsDetectedOnRead) {
  std::string big = RandomBytes(ObjectStore::kSmallBlobLimit * 2, 2);
  auto oid = store_->PutBlob(big);
  ASSERT_TRUE(oid.ok());
  auto small = store_->PutBlob("small object");
  ASSERT_TRUE(store_->Commit().ok());
  fs::path loose = dir_.path() / "cache" / "sha256" / oid->Hex().substr(0, 2) / oid->Hex().substr(2);
  fs::permissions(loose, fs::perms::owner_write, fs::perm_options::add);
  big[100] ^= 1;
  WriteText(loose, big);
  EXPECT_EQ(store_->Read(*oid).status().code(), Code::kCorruption);
  EXPECT_EQ(store_->Verify(*oid).code(), Code::kCorruption);
  // Damage the packed object in place.
  fs::path pack;
  for (const auto& e : fs::directory_iterator(dir_.path() / "cache" / "packs")) {
    if (e.path().extension() == ".pack") pack = e.path();
  }
  std::string data = ReadText(pack);
  data[data.size() - 1] ^= 0x20;
  WriteText(pack, data);
  Reopen();
  EXPECT_EQ(store_->Verify(*small).code(), Code::kCorruption);
}

TEST_F(ObjectStoreTest, MaterializeCopyIsIndependentOfTheCache) {
  std::string big = RandomBytes(ObjectStore::kSmallBlobLimit * 2, 3);
  auto oid = store_->PutBlob(big);
  ASSERT_TRUE(oid.ok());
  fs::path out = dir_.path() / "out.bin";
  ASSERT_TRUE(store_->Materialize(*oid, out, LinkMode::kCopy).ok());
  {
    std::ofstream append(out, std::ios::app | std::ios::binary);
    append << "more rows";
  }
  EXPECT_TRUE(store_->Verify(*oid).ok());  // editing the copy left the cached object alone
  EXPECT_EQ(store_->Materialize(*oid, out, LinkMode::kCopy).code(), Code::kIOError);  // never overwrites
}

TEST_F(ObjectStoreTest, MaterializeHardlinkSharesTheInode) {
  std::string big = RandomBytes(ObjectStore::kSmallBlobLimit * 2, 4);
  auto oid = store_->PutBlob(big);
  ASSERT_TRUE(oid.ok());
  fs::path out = dir_.path() / "link.bin";
  ASSERT_TRUE(store_->Materialize(*oid, out, LinkMode::kHardlink).ok());
  EXPECT_EQ(fs::hard_link_count(out), 2u);
  EXPECT_EQ(ReadText(out), big);
}

TEST_F(ObjectStoreTest, PruneKeepsLiveObjectsAndRewritesPacks) {
  auto keep = store_->PutBlob("keep me");
  auto drop = store_->PutBlob("drop me");
  auto big_drop = store_->PutBlob(RandomBytes(ObjectStore::kSmallBlobLimit, 5));
  ASSERT_TRUE(store_->Commit().ok());
  OidSet live = {*keep};
  auto dry = store_->Prune(live, /*apply=*/false);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->objects_removed, 2u);
  EXPECT_TRUE(store_->Has(*drop));  // dry run removed nothing
  auto wet = store_->Prune(live, /*apply=*/true);
  ASSERT_TRUE(wet.ok());
  EXPECT_EQ(wet->objects_removed, 2u);
  EXPECT_EQ(wet->packs_rewritten, 1u);
  Reopen();
  EXPECT_TRUE(store_->Has(*keep));
  EXPECT_EQ(*store_->Read(*keep), "keep me");
  EXPECT_FALSE(store_->Has(*drop));
  EXPECT_FALSE(store_->Has(*big_drop));
}

TEST_F(ObjectStoreTest, FailedWriteLeavesNoTrace) {
  std::string big = RandomBytes(ObjectStore::kSmallBlobLimit * 4, 6);
  WriteText(dir_.path() / "big.bin", big);
  SetFaultHookForTesting([](std::string_view op, const std::string& path) {
    return op == "write" && path.find("/tmp/") != std::string::npos ? ENOSPC : 0;
  });
  uint64_t size = 0;
  auto r = store_->PutFile(dir_.path() / "big.bin", &size);
  SetFaultHookForTesting(nullptr);
  ASSERT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find("No space left"), std::string::npos);
  EXPECT_FALSE(r.status().hint().empty());
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  EXPECT_FALSE(store_->Has(Oid::Of(big)));
}

TEST_F(ObjectStoreTest, UnreadableSourceIsAnError) {
  WriteText(dir_.path() / "f.bin", "data");
  SetFaultHookForTesting([](std::string_view op, const std::string&) { return op == "open" ? EACCES : 0; });
  uint64_t size = 0;
  auto r = store_->PutFile(dir_.path() / "f.bin", &size);
  SetFaultHookForTesting(nullptr);
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find("f.bin"), std::string::npos);
}

TEST_F(ObjectStoreTest, ParallelSmallPutsAreAllStored) {
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also writes the shared "dup" blob: stored once per index.
        ASSERT_TRUE(store_->PutBlob(RandomBytes(100 + i, static_cast<uint32_t>(t * 1000 + i))).ok());
        ASSERT_TRUE(store_->PutBlob("dup").ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(store_->Commit().ok());
  Reopen();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; i += 97) {
      std::string want = RandomBytes(100 + i, static_cast<uint32_t>(t * 1000 + i));
      auto got = store_->Read(Oid::Of(want));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, want);
    }
  }
  uint64_t count = 0;
  ASSERT_TRUE(store_->ForEach([&](const Oid&, uint64_t, bool) {
    ++count;
    return Status::OK();
  }).ok());
  EXPECT_GE(count, uint64_t{kThreads * kPerThread} + 1);
}

// The .idx files in packs/, sorted.
std::vector<fs::path> Indexes(const fs::path& cache) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(cache / "packs")) {
    if (e.path().extension() == ".idx") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The index of the pack holding `oid`.
fs::path IndexHolding(const fs::path& cache, const Oid& oid) {
  for (const fs::path& idx : Indexes(cache)) {
    auto entries = ReadPackIndex(idx);
    if (!entries.ok()) continue;
    for (const PackEntry& e : *entries) {
      if (e.oid == oid) return idx;
    }
  }
  return {};
}

std::unique_ptr<ObjectStore> OpenStore(const fs::path& dir) {
  auto s = ObjectStore::Open(dir / "cache", dir / "tmp");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST_F(ObjectStoreTest, DamagedIndexCostsOnlyItsOwnPackUntilRepaired) {
  ASSERT_TRUE(store_->PutBlob("in the damaged pack").ok());
  ASSERT_TRUE(store_->PutBlob("its neighbour").ok());
  ASSERT_TRUE(store_->Commit().ok());
  ASSERT_TRUE(store_->PutBlob("in a good pack").ok());
  ASSERT_TRUE(store_->Commit().ok());
  fs::path idx = IndexHolding(dir_.path() / "cache", Oid::Of("in the damaged pack"));
  ASSERT_FALSE(idx.empty());
  const std::string intact = ReadText(idx);
  std::string data = intact;
  data[20] ^= 1;
  WriteText(idx, data);

  Reopen();  // used to fail: one bad index made every command fail
  ASSERT_EQ(store_->DamagedPacks().size(), 1u);
  EXPECT_EQ(store_->DamagedPacks()[0].index, idx);
  EXPECT_NE(store_->DamagedPacks()[0].problem.find("checksum"), std::string::npos);
  EXPECT_EQ(*store_->Read(Oid::Of("in a good pack")), "in a good pack");
  EXPECT_FALSE(store_->Has(Oid::Of("in the damaged pack")));

  auto repaired = store_->RepairPacks({});
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  ASSERT_EQ(repaired->size(), 1u);
  EXPECT_EQ((*repaired)[0].objects_kept, 2u);
  EXPECT_EQ((*repaired)[0].objects_dropped, 0u);
  EXPECT_TRUE(store_->DamagedPacks().empty());
  EXPECT_EQ(ReadText(idx), intact);  // an intact pack gets its very index back
  EXPECT_EQ(*store_->Read(Oid::Of("in the damaged pack")), "in the damaged pack");
  Reopen();
  EXPECT_TRUE(store_->DamagedPacks().empty());
  EXPECT_EQ(*store_->Read(Oid::Of("its neighbour")), "its neighbour");
  EXPECT_EQ(Indexes(dir_.path() / "cache").size(), 2u);
}

TEST_F(ObjectStoreTest, RepairDropsObjectsWhoseBytesNoLongerMatch) {
  ASSERT_TRUE(store_->PutBlob("first").ok());
  ASSERT_TRUE(store_->PutBlob("second, to be damaged").ok());
  ASSERT_TRUE(store_->PutBlob("third").ok());
  ASSERT_TRUE(store_->Commit().ok());
  fs::path idx = Indexes(dir_.path() / "cache").at(0);
  fs::path pack = fs::path(idx).replace_extension(".pack");
  auto entries = ReadPackIndex(idx);
  ASSERT_TRUE(entries.ok());
  const Oid bad = Oid::Of("second, to be damaged");
  std::string bytes = ReadText(pack);
  for (const PackEntry& e : *entries) {
    if (e.oid == bad) bytes[e.offset + 3] ^= 0x40;
  }
  fs::permissions(pack, fs::perms::owner_write, fs::perm_options::add);
  WriteText(pack, bytes);
  std::string index = ReadText(idx);
  index[index.size() - 1] ^= 1;  // and the index too
  WriteText(idx, index);
  Reopen();
  ASSERT_EQ(store_->DamagedPacks().size(), 1u);
  auto repaired = store_->RepairPacks({});
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  ASSERT_EQ(repaired->size(), 1u);
  EXPECT_EQ((*repaired)[0].objects_kept, 2u);
  EXPECT_EQ((*repaired)[0].objects_dropped, 1u);
  EXPECT_FALSE(fs::exists(idx));  // replaced by a pack without the damaged object
  EXPECT_FALSE(fs::exists(pack));
  Reopen();
  EXPECT_TRUE(store_->DamagedPacks().empty());
  EXPECT_FALSE(store_->Has(bad));
  EXPECT_EQ(*store_->Read(Oid::Of("first")), "first");
  EXPECT_EQ(*store_->Read(Oid::Of("third")), "third");
  // The dropped object can be stored again.
  ASSERT_TRUE(store_->PutBlob("second, to be damaged").ok());
  ASSERT_TRUE(store_->Commit().ok());
  EXPECT_EQ(*store_->Read(bad), "second, to be damaged");
}

TEST_F(ObjectStoreTest, TruncatedPackFailsWithCorruptionNamingTheObject) {
  ASSERT_TRUE(store_->PutBlob("kept at the front").ok());
  ASSERT_TRUE(store_->PutBlob("cut off at the end").ok());
  ASSERT_TRUE(store_->Commit().ok());
  fs::path pack = fs::path(Indexes(dir_.path() / "cache").at(0)).replace_extension(".pack");
  fs::permissions(pack, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(pack, fs::file_size(pack) - 4);
  Reopen();
  const Oid cut = Oid::Of("cut off at the end");
  auto r = store_->Read(cut);
  ASSERT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find(cut.ToString()), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().hint().find("fsck"), std::string::npos);
  EXPECT_EQ(store_->Verify(cut).code(), Code::kCorruption);
  EXPECT_EQ(*store_->Read(Oid::Of("kept at the front")), "kept at the front");
  // A check found it; repair drops it and keeps the rest.
  auto repaired = store_->RepairPacks({cut});
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  ASSERT_EQ(repaired->size(), 1u);
  EXPECT_EQ((*repaired)[0].objects_dropped, 1u);
  EXPECT_FALSE(store_->Has(cut));
  Reopen();
  EXPECT_FALSE(store_->Has(cut));
  EXPECT_EQ(*store_->Read(Oid::Of("kept at the front")), "kept at the front");
}

// gc in another process rewrites a pack this store has already listed.
TEST_F(ObjectStoreTest, ReaderFollowsAPackAnotherProcessReplaced) {
  ASSERT_TRUE(store_->PutBlob("live").ok());
  ASSERT_TRUE(store_->PutBlob("garbage").ok());
  ASSERT_TRUE(store_->Commit().ok());
  auto reader = OpenStore(dir_.path());
  ASSERT_TRUE(reader);
  auto gc = store_->Prune({Oid::Of("live")}, /*apply=*/true);
  ASSERT_TRUE(gc.ok());
  ASSERT_EQ(gc->packs_rewritten, 1u);
  auto r = reader->Read(Oid::Of("live"));  // its pack is gone; used to fail "no such file"
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "live");
  EXPECT_EQ(reader->Read(Oid::Of("garbage")).status().code(), Code::kNotFound);
  EXPECT_FALSE(reader->Has(Oid::Of("garbage")));
}

// An add that waited for the lock while gc removed objects it had seen.
TEST_F(ObjectStoreTest, ReloadForgetsObjectsAnotherProcessRemoved) {
  ASSERT_TRUE(store_->PutBlob("garbage").ok());
  ASSERT_TRUE(store_->Commit().ok());
  auto writer = OpenStore(dir_.path());
  ASSERT_TRUE(writer);
  ASSERT_TRUE(store_->Prune({}, /*apply=*/true).ok());
  ASSERT_TRUE(writer->Reload().ok());
  ASSERT_TRUE(writer->PutBlob("garbage").ok());  // must really store it again
  ASSERT_TRUE(writer->Commit().ok());
  Reopen();
  EXPECT_EQ(*store_->Read(Oid::Of("garbage")), "garbage");
}

// gc removes an index between the reader's listing and its reading of it.
TEST_F(ObjectStoreTest, OpenSurvivesAnIndexRemovedWhileListing) {
  ASSERT_TRUE(store_->PutBlob("live").ok());
  ASSERT_TRUE(store_->PutBlob("garbage").ok());
  ASSERT_TRUE(store_->Commit().ok());
  ASSERT_TRUE(store_->PutBlob("elsewhere").ok());
  ASSERT_TRUE(store_->Commit().ok());
  const std::string doomed = IndexHolding(dir_.path() / "cache", Oid::Of("live")).string();
  bool fired = false;
  SetFaultHookForTesting([&](std::string_view op, const std::string& path) {
    if (op == "open" && path == doomed && !fired) {
      fired = true;  // the other process's gc runs now
      EXPECT_TRUE(store_->Prune({Oid::Of("live"), Oid::Of("elsewhere")}, /*apply=*/true).ok());
    }
    return 0;
  });
  auto reader = ObjectStore::Open(dir_.path() / "cache", dir_.path() / "tmp");
  SetFaultHookForTesting(nullptr);
  ASSERT_TRUE(fired);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();  // used to fail: pack-….idx: no such file
  EXPECT_TRUE((*reader)->DamagedPacks().empty());
  EXPECT_EQ(*(*reader)->Read(Oid::Of("live")), "live");  // from the pack that replaced it
  EXPECT_EQ(*(*reader)->Read(Oid::Of("elsewhere")), "elsewhere");
}

// The sealed bytes of a .idx naming `entries` in the given order.
std::string IndexBytes(const std::vector<PackEntry>& entries) {
  std::string idx(kIndexMagic, 8);
  auto put = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) idx.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(entries.size());
  for (const PackEntry& e : entries) {
    idx.append(reinterpret_cast<const char*>(e.oid.bytes().data()), Oid::kSize);
    put(e.offset);
    put(e.length);
  }
  Oid sum = Oid::Of(idx);
  return idx.append(reinterpret_cast<const char*>(sum.bytes().data()), Oid::kSize);
}

// Found by fuzz/pack_index_fuzz: an index with a valid checksum but entries
// out of order was accepted, and the store's binary search then missed
// objects it holds; offsets inside the header or overflowing are refused too.
TEST(PackIndexTest, EntriesMustBeSortedAndInsideThePack) {
  Oid lo = std::min(Oid::Of("a"), Oid::Of("b")), hi = std::max(Oid::Of("a"), Oid::Of("b"));
  const uint64_t first = 8 + kPackRecordHeader;  // where the first record's bytes start
  auto good = DecodePackIndex(IndexBytes({{lo, first, 1}, {hi, first + 1 + kPackRecordHeader, 1}}), "x.idx");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->size(), 2u);
  const std::vector<std::vector<PackEntry>> hostile = {
      {{hi, first, 1}, {lo, first + 41, 1}},  // unsorted
      {{lo, first, 1}, {lo, first + 41, 1}},  // repeated
      {{lo, 0, 1}},                           // inside the pack header
      {{lo, first, ~uint64_t{0}}},            // offset + length overflows
  };
  for (const auto& entries : hostile) {
    auto decoded = DecodePackIndex(IndexBytes(entries), "x.idx");
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << entries[0].offset;
  }
}

}  // namespace
}  // namespace cairn
