"""A remote pack cut short (a copy or upload that stopped, a disk that filled): its intact index
says how long it must be, so fetch and pull report the pack as damaged, naming it, instead of
saying the remote lacks the objects; nothing half-written lands in the local cache, and a push
from a clone that has the data makes the remote whole again."""

import hashlib
import json
import os
import resource
import struct
import unittest

from cairn_testlib import ERROR, NEGATIVE, OK
from test_remote import RemoteTestCase, S3TestCase, random_bytes, text_table


class TruncatedPack(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.big = random_bytes(400 * 1024, 80)
        self.write("data/big.bin", self.big)
        self.write("data/notes.csv", text_table(500, 81))
        self.add("data/big.bin", "data/notes.csv")
        self.commit(message="v1")
        self.push()
        (self.hex,) = self.remote_packs()
        self.key = "packs/%s.pack" % self.hex
        self.pack = self.rpath("packs", self.hex + ".pack")
        self.size = os.path.getsize(self.pack)
        with open(self.pack, "r+b") as f:
            f.truncate(self.size // 2)

    def assert_pack_damage(self, r):
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, self.key, "which is damaged",
                          "is %d bytes but its index records %d (it was cut short)" % (self.size // 2, self.size),
                          "the remote's data is damaged", hint="push the data again from a clone that has it intact")
        self.assertNotIn("lacks", r.stderr, "reported as missing:\n" + self.describe(r))
        self.assertNotIn("not on the remote", r.stderr, "reported as missing:\n" + self.describe(r))

    def test_pull_and_fetch_report_the_damaged_pack(self):
        clone = self.clone()
        before = self.tree_snapshot(clone, skip={".git"})
        for cmd in ("fetch", "pull"):
            with self.subTest(cmd=cmd):
                self.assert_pack_damage(self.cairn(cmd, cwd=clone))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")), "pull made a file from a cut pack")
        self.assertFalse(os.path.exists(os.path.join(clone, "data/notes.csv")), "pull made a file from a cut pack")
        # Nothing half-written: no temporary left, and every object that did arrive is whole.
        tmp = os.path.join(clone, ".cairn", "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])
        # (fsck says the pointers' versions are not here, which is true; nothing stored is damaged.)
        r = self.cairn("fsck", "--json", cwd=clone)
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        problems = json.loads(r.stdout)["problems"]
        self.assertEqual(sorted(p["kind"] for p in problems), ["pointer", "pointer"], problems)
        self.assertTrue(all("not in the cache" in p["message"] for p in problems), problems)
        after = self.tree_snapshot(clone, skip={".git", ".cairn"})
        self.assertEqual(after, {k: v for k, v in before.items() if not k.startswith(".cairn")})

    def test_from_a_clone_whose_index_cache_holds_the_index(self):
        clone = self.clone()
        self.assert_pack_damage(self.cairn("pull", cwd=clone))
        # The (intact) index is cached now; the next pull reads it from there.
        cached = os.path.join(clone, ".cairn", "remotes", "origin", self.hex + ".idx")
        self.assertTrue(os.path.exists(cached), os.listdir(os.path.dirname(cached)))
        self.assert_pack_damage(self.cairn("pull", cwd=clone))

    def test_fsck_remote_names_the_pack(self):
        for args in (("--quick",), ()):
            with self.subTest(args=args):
                rep = self.fsck_remote(*args, code=NEGATIVE)
                packs = [p for p in rep["problems"] if p["kind"] == "pack"]
                self.assertEqual([p["name"] for p in packs], [self.key], rep["problems"])
                self.assertIn("cut short", packs[0]["message"])

    def test_push_from_a_good_copy_heals_the_remote_for_fetches(self):
        rep = self.push()
        self.assertGreater(rep["chunks_moved"], 0, "push trusted the chunks of the damaged pack: %s" % rep)
        clone = self.clone()
        self.pull(cwd=clone)
        with open(os.path.join(clone, "data/big.bin"), "rb") as f:
            self.assertEqual(f.read(), self.big)
        # Packs are named by their content: when the new pack packed the chunks in the same order, it
        # replaced the cut one whole; else the cut one stays, reported, beside a good one.
        if os.path.getsize(self.pack) == self.size:
            self.fsck_remote()
        else:
            rep = self.fsck_remote("--quick", code=NEGATIVE)
            self.assertEqual([(p["kind"], p["name"]) for p in rep["problems"]], [("pack", self.key)])
            self.assertEqual(rep["packs"], 1, "the good pack is not indexed: %s" % rep)

def rewrite_index(path, edit):
    """Decodes a remote pack index (doc/formats.md), lets `edit(header_lines, chunks, recipes)` change it
    (chunks: [oid, offset, stored, raw, codec]; recipes: [oid, size, [chunk oids]]) and writes it back
    with a valid checksum: a lie no checksum catches."""
    with open(path, "rb") as f:
        data = f.read()
    body = data[:-32]
    assert hashlib.sha256(body).digest() == data[-32:]
    lines, pos = [], 0
    for _ in range(4):
        nl = body.index(b"\n", pos)
        lines.append(body[pos:nl].decode())
        pos = nl + 1
    chunks, recipes = [], []
    for _ in range(int(lines[2].split()[1])):
        e = body[pos:pos + 49]
        pos += 49
        chunks.append([e[:32]] + list(struct.unpack("<QIIB", e[32:])))
    for _ in range(int(lines[3].split()[1])):
        size, count = struct.unpack("<QI", body[pos + 32:pos + 44])
        recipes.append([body[pos:pos + 32], size, [body[pos + 44 + 32 * k:pos + 76 + 32 * k] for k in range(count)]])
        pos += 44 + 32 * count
    assert pos == len(body)
    edit(lines, chunks, recipes)
    lines[2], lines[3] = "chunks %d" % len(chunks), "recipes %d" % len(recipes)
    out = ("\n".join(lines) + "\n").encode()
    for oid, off, stored, raw, codec in chunks:
        out += oid + struct.pack("<QIIB", off, stored, raw, codec)
    for oid, size, cs in recipes:
        out += oid + struct.pack("<QI", size, len(cs)) + b"".join(cs)
    with open(path, "wb") as f:
        f.write(out + hashlib.sha256(out).digest())


def one_gib_of_memory():
    """preexec_fn: a reader that allocates what a lying index claims (4 GiB a chunk) fails under this."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


class LyingIndex(RemoteTestCase):
    """An index with a valid checksum whose entries lie: fetch, pull and fsck --remote report the
    index (or pack) as damaged, naming it, never as a missing object, and never allocate what it claims."""

    def setUp(self):
        super().setUp()
        self.write("data/big.bin", random_bytes(400 * 1024, 83))
        self.write("data/notes.csv", text_table(3000, 84))
        self.add("data/big.bin", "data/notes.csv")
        self.commit(message="v1")
        self.push()
        (self.hex,) = self.remote_packs()
        self.idx = self.rpath("packs", self.hex + ".idx")
        self.idx_key = "packs/%s.idx" % self.hex

    def assert_damage_reported(self, *fragments):
        clone = self.clone()
        for cmd in ("fetch", "pull"):
            with self.subTest(cmd=cmd):
                r = self.cairn(cmd, cwd=clone, preexec_fn=one_gib_of_memory, timeout=60)
                self.assertEqual(r.returncode, ERROR, self.describe(r))
                self.assert_error(r, *fragments, hint="cairn fsck")
                self.assertNotIn("lacks", r.stderr, "reported as missing:\n" + self.describe(r))
                self.assertNotIn("not on the remote", r.stderr, "reported as missing:\n" + self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/notes.csv")))
        r = self.cairn("fsck", "--remote", "origin", "--json", preexec_fn=one_gib_of_memory, timeout=60)
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        return json.loads(r.stdout)["problems"]

    def test_a_chunk_claiming_4_gib_is_a_damaged_index(self):
        def lie(lines, chunks, recipes):
            zstd = [c for c in chunks if c[4] == 1]
            self.assertTrue(zstd, "no compressed chunk to lie about")
            zstd[0][3] = 0xffffffff
        rewrite_index(self.idx, lie)
        problems = self.assert_damage_reported(self.idx_key, "is damaged", "claims 4294967295 bytes")
        self.assertTrue(any(p["kind"] == "index" and "claims 4294967295 bytes" in p["message"] for p in problems),
                        problems)

    def test_a_huge_stored_length_is_a_damaged_index(self):
        def lie(lines, chunks, recipes):
            chunks[-1][2] = 0xfffffff0
        rewrite_index(self.idx, lie)
        self.assert_damage_reported(self.idx_key, "is damaged")

    def test_a_chunk_past_the_end_of_the_pack(self):
        def lie(lines, chunks, recipes):
            chunks[-1][1] = 1 << 40
        rewrite_index(self.idx, lie)
        self.assert_damage_reported(self.idx_key, "is damaged", "chunk outside its pack")

    def test_a_failed_index_checksum(self):
        with open(self.idx, "r+b") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 1]))
        self.assert_damage_reported(self.idx_key, "is damaged", "checksum mismatch")

    def test_a_pack_deleted_beside_its_index(self):
        os.unlink(self.rpath("packs", self.hex + ".pack"))
        self.assert_damage_reported(self.idx_key, "has no pack")

    def test_a_recipe_whose_size_is_wrong(self):
        def lie(lines, chunks, recipes):
            self.assertTrue(recipes, "no recipe")
            recipes[0][1] += 1
        rewrite_index(self.idx, lie)
        problems = self.assert_damage_reported("does not add up", "the remote's index is damaged")
        self.assertTrue(any("does not add up" in p["message"] for p in problems), problems)


class TruncatedS3Pack(S3TestCase):
    """The same on an S3 remote (moto on loopback): the listing's size disagrees with the index."""

    def test_pull_reports_the_damaged_pack(self):
        self.write("data/big.bin", random_bytes(300 * 1024, 82))
        self.add("data/big.bin")
        self.commit(message="v1")
        self.push()
        (key,) = [k for k in self.s3_objects() if k.startswith("packs/") and k.endswith(".pack")]
        data = self.s3_get(key)
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix + "/" + key, Body=data[:len(data) // 3])
        clone = self.clone()
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, key, "which is damaged", "(it was cut short)", "the remote's data is damaged")
        self.assertNotIn("lacks", r.stderr, self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")))


if __name__ == "__main__":
    unittest.main()
