#include "cairn/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

TEST_F(ObjectStoreTest, PackIndexChecksumIsVerified) {
  ASSERT_TRUE(store_->PutBlob("x").ok());
  ASSERT_TRUE(store_->Commit().ok());
  fs::path idx;
  for (const auto& e : fs::directory_iterator(dir_.path() / "cache" / "packs")) {
    if (e.path().extension() == ".idx") idx = e.path();
  }
  std::string data = ReadText(idx);
  data[20] ^= 1;
  WriteText(idx, data);
  auto r = ObjectStore::Open(dir_.path() / "cache", dir_.path() / "tmp");
  EXPECT_EQ(r.status().code(), Code::kCorruption);
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
