// Chunking, the pack and index formats, the directory backend, and the
// upload/download machinery, against a real directory remote.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

#include "cairn/remote.h"
#include "cairn/store.h"
#include "cairn/sys/backend.h"
#include "remote/chunker.h"
#include "remote/packfile.h"
#include "remote/session.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteText;

std::vector<std::string> Split(const Chunker& c, std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    size_t n = c.Next(data);
    out.emplace_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

TEST(ChunkerTest, SizesStayWithinBoundsAndAverageNearTarget) {
  Chunker c;
  std::string data = RandomBytes(16 << 20, 1);
  auto chunks = Split(c, data);
  size_t total = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    total += chunks[i].size();
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].size(), kDefaultChunkParams.min_size);
      EXPECT_LE(chunks[i].size(), kDefaultChunkParams.max_size);
    }
  }
  EXPECT_EQ(total, data.size());
  double avg = double(data.size()) / chunks.size();
  // Normalized chunking keeps the mean close to the target (measured ~1.0-1.2x).
  EXPECT_GT(avg, 0.7 * kDefaultChunkParams.avg_size);
  EXPECT_LT(avg, 1.5 * kDefaultChunkParams.avg_size);
}

TEST(ChunkerTest, AnInsertionMovesOnlyNearbyCuts) {
  Chunker c;
  std::string a = RandomBytes(8 << 20, 2);
  std::string b = a;
  b.insert(3 << 20, "a few inserted bytes");
  auto ca = Split(c, a), cb = Split(c, b);
  std::set<std::string> before(ca.begin(), ca.end());
  size_t fresh = 0;
  for (const auto& chunk : cb) fresh += !before.count(chunk);
  EXPECT_GE(fresh, 1u);
  EXPECT_LE(fresh, 2u) << "an insertion should touch one chunk, at most two";
}

TEST(ChunkerTest, CutsAreAFunctionOfContentOnly) {
  Chunker c;
  std::string data = RandomBytes(2 << 20, 3);
  EXPECT_EQ(Split(c, data), Split(Chunker(), data));
  EXPECT_EQ(c.Next(""), 0u);
  EXPECT_EQ(c.Next("small"), 5u);
}

TEST(PackFileTest, CompressionIsSkippedWhenItDoesNotPay) {
  std::string text(100000, 'x'), noise = RandomBytes(100000, 4), out;
  EXPECT_EQ(CompressChunk(text, &out), Codec::kZstd);
  EXPECT_LT(out.size(), 1000u);
  out.clear();
  EXPECT_EQ(CompressChunk(noise, &out), Codec::kRaw);
  EXPECT_EQ(out, noise);
}

TEST(PackFileTest, IndexRoundTripsAndDetectsDamage) {
  PackBuilder b;
  std::vector<std::string> raws = {"alpha", std::string(5000, 'b'), RandomBytes(3000, 5)};
  std::vector<Oid> oids;
  for (const auto& r : raws) {
    std::string stored;
    Codec codec = CompressChunk(r, &stored);
    oids.push_back(Oid::Of(r));
    b.AddChunk(oids.back(), stored, static_cast<uint32_t>(r.size()), codec);
  }
  b.AddRecipe(Recipe{Oid::Of(raws[0] + raws[1]), raws[0].size() + raws[1].size(), {oids[0], oids[1]}});
  std::string pack;
  PackIndex idx;
  b.Finish(&pack, &idx);
  EXPECT_EQ(idx.pack, Oid::Of(pack).Hex());
  std::string encoded = idx.Encode();
  auto back = PackIndex::Decode(encoded, "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->chunks.size(), 3u);
  ASSERT_EQ(back->recipes.size(), 1u);
  EXPECT_EQ(back->recipes[0].chunks, (std::vector<Oid>{oids[0], oids[1]}));
  for (size_t i = 0; i < raws.size(); ++i) {
    const ChunkEntry& e = back->chunks[i];
    auto raw = DecompressChunk(std::string_view(pack).substr(e.offset, e.stored), e, "test");
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(*raw, raws[i]);
  }
  // One flipped byte anywhere in the index fails its checksum.
  for (size_t at : {size_t{3}, encoded.size() / 2, encoded.size() - 1}) {
    std::string bad = encoded;
    bad[at] ^= 1;
    EXPECT_EQ(PackIndex::Decode(bad, "test").status().code(), Code::kCorruption) << at;
  }
  EXPECT_EQ(PackIndex::Decode(encoded.substr(0, 40), "t").status().code(), Code::kCorruption);
  // A damaged chunk is caught by its oid, whatever the codec.
  const ChunkEntry& e = back->chunks[2];
  std::string stored(pack.substr(e.offset, e.stored));
  stored[10] ^= 1;
  EXPECT_EQ(DecompressChunk(stored, e, "test").status().code(), Code::kCorruption);
}

// Found by an adversarial test: an intact index whose zstd chunk claims
// 0xffffffff raw bytes made every reader allocate 4 GiB for it.
TEST(PackFileTest, ChunkLengthsAboveTheMaximumAreCorruption) {
  const std::string name(64, 'a');
  auto index = [&](uint32_t stored, uint32_t raw, Codec codec) {
    PackIndex idx;
    idx.pack = name;
    idx.pack_size = 8 + uint64_t{stored};
    idx.chunks.push_back({Oid::Of("c"), 8, stored, raw, codec});
    return idx.Encode();
  };
  const uint32_t max = kDefaultChunkParams.max_size;
  for (auto [stored, raw, codec] : {std::tuple{100u, 0xffffffffu, Codec::kZstd}, std::tuple{100u, max + 1, Codec::kZstd},
                                    std::tuple{max + 1, max + 1, Codec::kRaw}, std::tuple{100u, 99u, Codec::kRaw},
                                    std::tuple{0xfffffff0u, 1000u, Codec::kZstd}}) {
    auto decoded = PackIndex::Decode(index(stored, raw, codec), "indexes/x.idx", max);
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << stored << " " << raw;
    EXPECT_NE(decoded.status().message().find("indexes/x.idx is damaged"), std::string::npos)
        << decoded.status().message();
  }
  EXPECT_TRUE(PackIndex::Decode(index(max, max, Codec::kRaw), "i", max).ok());
  EXPECT_TRUE(PackIndex::Decode(index(100, max, Codec::kZstd), "i", max).ok());
  EXPECT_FALSE(PackIndex::Decode(index(100, max, Codec::kZstd), "i", max / 2).ok());
  // DecompressChunk checks the frame's own length before allocating.
  std::string raw(1000, 'x'), stored;
  ASSERT_EQ(CompressChunk(raw, &stored), Codec::kZstd);
  ChunkEntry lying{Oid::Of(raw), 8, static_cast<uint32_t>(stored.size()), 0xffffffffu, Codec::kZstd};
  EXPECT_EQ(DecompressChunk(stored, lying, "t").status().code(), Code::kCorruption);
}

// `body` followed by its SHA-256, as an index is stored.
std::string Sealed(std::string body) {
  Oid sum = Oid::Of(body);
  return body.append(reinterpret_cast<const char*>(sum.bytes().data()), Oid::kSize);
}

// Found by fuzz/remote_index_fuzz: an index comes from a remote other people
// write to, and its checksum only proves it was not damaged in transit. Each
// of these passed its checksum and was accepted, made the decoder throw, or
// named a pack outside packs/ (which gc --remote would then delete).
TEST(PackFileTest, HostileIndexesAreCorruption) {
  const std::string name(64, 'a');
  const std::string header = std::string(kPackIndexHeader) + "pack " + name + " 100\n";
  std::vector<std::string> hostile = {
      // counts whose byte sizes wrap around 2^64, or that would be reserved
      header + "chunks 267344117010283357\nrecipes 0\n" + std::string(17, '\0'),  // * 69 bytes = 2^64 + 17
      header + "chunks 0\nrecipes 4611686018427387904\n",
      header + "chunks -1\nrecipes 0\n",
      header + "chunks 01\nrecipes 0\n" + std::string(69, '\0'),
      std::string(kPackIndexHeader) + "pack " + name + " +100\nchunks 0\nrecipes 0\n",
      std::string(kPackIndexHeader) + "pack  " + name + " 100\nchunks 0\nrecipes 0\n",
  };
  PackIndex idx;
  idx.pack = name;
  idx.pack_size = 100;
  idx.chunks.push_back({Oid::Of("c"), ~uint64_t{0} - 9, 20, 20, Codec::kRaw});  // offset + stored wraps to 10
  hostile.push_back(idx.Encode());
  for (const std::string& bad_name : {"../../../../../../../tmp/" + std::string(40, 'a'), std::string(64, 'A'),
                                      std::string(63, 'a') + "/"}) {
    PackIndex named;
    named.pack = bad_name;
    named.pack_size = 8;
    hostile.push_back(named.Encode());
  }
  for (size_t i = 0; i < hostile.size(); ++i) {
    std::string data = hostile[i];
    if (i < 6) data = Sealed(data);
    auto decoded = PackIndex::Decode(data, "indexes/x.idx");
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << i << ": " << data.substr(0, 120);
  }
  PackIndex good;
  good.pack = name;
  good.pack_size = 100;
  good.chunks.push_back({Oid::Of("c"), 80, 20, 20, Codec::kRaw});  // ends exactly at the end of the pack
  EXPECT_TRUE(PackIndex::Decode(good.Encode(), "indexes/x.idx").ok());
}

// Found by fuzz/config_fuzz: .cairn/config is committed, and a remote named
// "../../x" there made fetch keep its index cache in .cairn/remotes/../../x,
// outside the repository. Such a name is refused wherever it is read.
TEST(RemoteConfigTest, RemoteNamesInTheConfigAreChecked) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const fs::path config = (*repo)->cairn_dir() / "config";
  testing::WriteText(config, "[remote.origin]\nurl = \"/srv/remote\"\n");
  auto list = ListRemotes(**repo);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->remotes.size(), 1u);
  EXPECT_EQ(list->remotes[0].name, "origin");
  for (const char* name : {"../../victim", "a/b", ".hidden", ""}) {
    std::string text = std::string("[core]\nremote = \"") + name + "\"\n[remote.\"" + name + "\"]\nurl = \"/tmp/x\"\n";
    testing::WriteText(config, text);
    auto bad = ListRemotes(**repo);
    EXPECT_EQ(bad.status().code(), Code::kCorruption) << name;
    EXPECT_NE(bad.status().message().find(std::string("bad remote name '") + name + "'"), std::string::npos)
        << bad.status().message();
    EXPECT_EQ(FindRemote(**repo, "").status().code(), Code::kCorruption) << name;
  }
  testing::WriteText(config, "[remote.origin]\nurl = \"/srv/remote\"\n");
  testing::WriteText((*repo)->cairn_dir() / "config.local", "[remote.\"../x\"]\naccess_key_id = \"k\"\n");
  auto local = ListRemotes(**repo);
  EXPECT_EQ(local.status().code(), Code::kCorruption);
  EXPECT_NE(local.status().message().find("config.local"), std::string::npos) << local.status().message();
}

TEST(RemoteIndexTest, ObjectsNeedEveryChunkOfTheirRecipe) {
  PackIndex idx;
  idx.pack = std::string(64, 'a');
  Oid c1 = Oid::Of("c1"), c2 = Oid::Of("c2"), whole = Oid::Of("c1c2");
  idx.chunks.push_back({c1, 8, 2, 2, Codec::kRaw});
  idx.recipes.push_back(Recipe{whole, 4, {c1, c2}});
  RemoteIndex index;
  index.Add(idx);
  EXPECT_TRUE(index.HasObject(c1));
  EXPECT_FALSE(index.HasObject(whole)) << "c2 is missing";
  PackIndex more;
  more.pack = std::string(64, 'b');
  more.chunks.push_back({c2, 8, 2, 2, Codec::kRaw});
  index.Add(more);
  EXPECT_TRUE(index.HasObject(whole));
  EXPECT_EQ(index.ObjectChunks(whole)->size(), 2u);
}

TEST(DirectoryBackendTest, PutGetListDeleteAndKeysStayInside) {
  TempDir dir;
  auto b = OpenDirectoryBackend(dir.path().string());
  ASSERT_TRUE(b.ok());
  Backend& be = **b;
  ASSERT_TRUE(be.Check().ok());
  ASSERT_TRUE(be.Put("packs/a.pack", "0123456789").ok());
  ASSERT_TRUE(be.Put("refs/tags/x/v1", "t").ok());
  EXPECT_EQ(*be.Get("packs/a.pack"), "0123456789");
  EXPECT_EQ(*be.GetRange("packs/a.pack", 3, 4), "3456");
  EXPECT_EQ(be.GetRange("packs/a.pack", 8, 4).status().code(), Code::kCorruption);
  EXPECT_EQ(be.Get("packs/none").status().code(), Code::kNotFound);
  auto listed = be.List("packs/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "packs/a.pack");
  EXPECT_EQ((*listed)[0].size, 10u);
  EXPECT_FALSE(be.Put("../escape", "x").ok());
  EXPECT_FALSE(be.Get("/etc/passwd").ok());
  ASSERT_TRUE(be.Delete("packs/a.pack").ok());
  EXPECT_TRUE(be.Delete("packs/a.pack").ok()) << "deleting twice is fine";
  // Leftovers of an interrupted Put are hidden from List and removed by RemoveStale.
  WriteText(dir.path() / "packs" / ".b.pack.tmp-123456", "partial");
  EXPECT_TRUE(be.List("packs/")->empty());
  EXPECT_EQ(*be.RemoveStale(0), 0u) << "younger than the cutoff";
  EXPECT_EQ(*be.RemoveStale(INT64_MAX), 1u);
  EXPECT_FALSE(fs::exists(dir.path() / "packs" / ".b.pack.tmp-123456"));
  EXPECT_EQ(OpenDirectoryBackend("relative/dir").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenDirectoryBackend((dir.path() / "missing").string()).value()->Check().code(), Code::kNotFound);
}

// Uploads objects with PackUploader the way push does, then downloads them
// into a second store through a fresh session.
TEST(SessionTest, UploadThenDownloadRoundTrip) {
  TempDir dir;
  fs::create_directories(dir.path() / "remote");
  RemoteSpec spec;
  spec.url = (dir.path() / "remote").string();
  auto session = RemoteSession::Open(spec, dir.path() / "idxcache", /*for_write=*/true, 2);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<std::string> objects = {"small one", RandomBytes(1 << 20, 6), std::string(300000, 'z')};
  std::vector<Oid> oids;
  {
    PackUploader up((*session)->backend(), (*session)->index(), 2);
    for (const std::string& data : objects) {
      oids.push_back(Oid::Of(data));
      auto pieces = Split((*session)->chunker(), data);
      Recipe r{oids.back(), data.size(), {}};
      for (const std::string& p : pieces) {
        Oid c = Oid::Of(p);
        r.chunks.push_back(c);
        if (up.Has(c)) continue;
        std::string stored;
        Codec codec = CompressChunk(p, &stored);
        ASSERT_TRUE(up.AddChunk(c, stored, static_cast<uint32_t>(p.size()), codec).ok());
      }
      if (r.chunks.size() > 1) {
        ASSERT_TRUE(up.AddRecipe(r).ok());
      }
    }
    ASSERT_TRUE(up.Finish().ok());
    EXPECT_EQ(up.packs_written(), 1u);
  }
  auto reopened = RemoteSession::Open(spec, dir.path() / "idxcache", false, 2);
  ASSERT_TRUE(reopened.ok());
  for (const Oid& o : oids) EXPECT_TRUE((*reopened)->index().HasObject(o));
  EXPECT_EQ(*(*reopened)->ReadObject(oids[0]), objects[0]);

  auto store = ObjectStore::Open(dir.path() / "cache", dir.path() / "tmp");
  ASSERT_TRUE(store.ok());
  uint64_t chunks = 0, bytes = 0;
  ASSERT_TRUE((*reopened)->Download(**store, dir.path() / "tmp", oids, false, &chunks, &bytes).ok());
  for (size_t i = 0; i < oids.size(); ++i) EXPECT_EQ(*(*store)->Read(oids[i]), objects[i]);
  EXPECT_GT(bytes, 0u);
  EXPECT_LT(bytes, objects[1].size() + 10000) << "the run of 'z' compresses";

  // A flipped byte in the pack: the download fails with Corruption and stores nothing wrong.
  auto packs = (*reopened)->backend().List("packs/");
  std::string pack_key;
  for (const auto& o : *packs) {
    if (o.key.ends_with(".pack")) pack_key = o.key;
  }
  std::string pack = *(*reopened)->backend().Get(pack_key);
  pack[pack.size() / 2] ^= 1;
  ASSERT_TRUE((*reopened)->backend().Put(pack_key, pack).ok());
  auto other = ObjectStore::Open(dir.path() / "cache2", dir.path() / "tmp");
  Status s = (*reopened)->Download(**other, dir.path() / "tmp", oids, false, &chunks, &bytes);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_FALSE((*other)->Has(oids[1]));
}

TEST(SessionTest, NewerFormatIsRefused) {
  TempDir dir;
  WriteText(dir.path() / "cairn-remote", "cairn-remote 2\n");
  RemoteSpec spec;
  spec.url = dir.path().string();
  auto s = RemoteSession::Open(spec, {}, false, 1);
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace cairn
