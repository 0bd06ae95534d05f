"""cairn gc: what is kept (pointers, tags, protected and recent history) and what goes."""

import os
import time
import unittest

from cairn_testlib import CairnTestCase, deterministic_bytes

BIG = 300 * 1024
OLD = "%d +0000" % (int(time.time()) - 3 * 86400)  # a commit date three days ago


class GcBasics(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.write("big.bin", deterministic_bytes(BIG, seed=1))
        self.copy_example("iris.csv", "small.csv")
        r1 = {r["path"]: r for r in self.add("big.bin", "small.csv")}
        self.big_v1 = r1["big.bin"]["version"]
        self.big_v1_blob = self.pointer("big.bin")["object"]
        self.small_v1_blob = self.pointer("small.csv")["object"]
        # New versions; the first pointers were never committed.
        self.write("big.bin", deterministic_bytes(BIG, seed=2))
        self.append("small.csv", "1,1,1,1,1\n")
        self.add("big.bin", "small.csv")
        self.big_v2_blob = self.pointer("big.bin")["object"]
        self.small_v2_blob = self.pointer("small.csv")["object"]
        self.assertTrue(self.has_loose(self.big_v1_blob))
        self.assertTrue(self.is_packed(self.small_v1_blob))

    def test_dry_run_removes_nothing(self):
        before = self.full_snapshot()
        r = self.ok("gc")
        self.assertRegex(r.stdout, r"^would remove 2 object\(s\), ")
        self.assertIn("run 'cairn gc --apply' to delete them", r.stdout)
        rep = self.json("gc")
        self.assertFalse(rep["applied"])
        self.assertEqual(rep["objects_removed"], 2)
        self.assertEqual(rep["bytes_removed"], BIG + 2734)
        self.assertEqual(rep["root_versions"], 2)
        self.assertEqual(rep["packs_rewritten"], 0)
        self.assert_unchanged(before)
        self.assertTrue(self.has_loose(self.big_v1_blob))
        self.assertTrue(self.is_packed(self.small_v1_blob))

    def test_apply_removes_unreferenced_data(self):
        rep = self.json("gc", "--apply")
        self.assertTrue(rep["applied"])
        self.assertEqual(rep["objects_removed"], 2)
        self.assertGreaterEqual(rep["packs_rewritten"], 1)
        self.assertFalse(self.has_loose(self.big_v1_blob))
        self.assertFalse(self.is_packed(self.small_v1_blob))
        self.assertTrue(self.has_loose(self.big_v2_blob))
        self.assertTrue(self.is_packed(self.small_v2_blob))
        # Version objects stay, so history is still readable.
        self.assertTrue(self.has_loose(self.big_v1))
        log = self.json("log", "big.bin")
        self.assertEqual([e["data_present"] for e in log], [True, False])
        self.assertIn("[data not fetched: 'cairn pull big.bin@", self.ok("log", "big.bin").stdout)
        self.assertFalse(self.json("show", "big.bin~1")["data_present"])
        self.assertIn("[not in cache]", self.ok("show", "big.bin~1").stdout)
        # The workspace is intact and consistent.
        self.ok("status", "--exit-code")
        self.fsck_clean()
        # Nothing more to do.
        r = self.ok("gc", "--apply")
        self.assertTrue(r.stdout.startswith("removed 0 object(s)"), r.stdout)
        self.assertEqual(self.tmp_leftovers(), [])

    def test_tag_keeps_data(self):
        self.ok("tag", "big.bin~1", "keep")
        self.ok("tag", "small.csv~1", "gold", "--golden")
        self.json("gc", "--apply")
        self.assertTrue(self.has_loose(self.big_v1_blob))
        self.assertTrue(self.is_packed(self.small_v1_blob))
        self.fsck_clean()
        # Once the (non-golden) tag is gone, so is the data.
        self.ok("tag", "--delete", "big.bin@keep")
        rep = self.json("gc", "--apply")
        self.assertEqual(rep["objects_removed"], 1)
        self.assertFalse(self.has_loose(self.big_v1_blob))
        self.assertTrue(self.is_packed(self.small_v1_blob))
        self.fsck_clean()

    def test_damaged_pointer_stops_gc(self):
        # gc must not guess: a pointer it cannot read could name anything.
        with open(self.path("big.bin.cairn"), "r+") as f:
            f.truncate(50)
        before = self.full_snapshot()
        self.fails("gc", "--apply", msg="big.bin.cairn")
        self.assert_unchanged(before)

    def test_tree_data(self):
        d = self.make_dataset_dir("tables")
        self.add1(d)
        tree_v1 = self.pointer(d)["object"]
        os.remove(self.path(d + "/wine_data.csv"))
        self.add1(d)
        self.json("gc", "--apply")
        self.assertFalse(self.has_loose(tree_v1))      # the old tree went
        self.ok("status", "--exit-code")                 # wine_data.csv's blob is not needed any more
        self.fails("ls", d + "~1", msg="is not in the cache")
        self.fsck_clean()


class GcHistory(CairnTestCase):

    def test_protected_branch_history_kept(self):
        self.write("big.bin", deterministic_bytes(BIG, seed=1))
        self.add1("big.bin")
        v1_blob = self.pointer("big.bin")["object"]
        self.commit(message="v1", date=OLD)
        self.write("big.bin", deterministic_bytes(BIG, seed=2))
        self.add1("big.bin")
        self.commit(message="v2", date=OLD)
        # Default protection (main, master), even with --keep-days 0.
        rep = self.json("gc", "--apply", "--keep-days", "0")
        self.assertEqual(rep["commits_scanned"], 2)
        self.assertEqual(rep["objects_removed"], 0)
        self.assertTrue(self.has_loose(v1_blob))
        # Explicit --protect main.
        self.json("gc", "--apply", "--keep-days", "0", "--protect", "main")
        self.assertTrue(self.has_loose(v1_blob))
        # Recent enough (default 30 days) when main is not protected.
        self.json("gc", "--apply", "--protect", "release")
        self.assertTrue(self.has_loose(v1_blob))
        # Neither protected nor recent: collectable.
        rep = self.json("gc", "--apply", "--protect", "release", "--keep-days", "0")
        self.assertEqual(rep["objects_removed"], 1)
        self.assertFalse(self.has_loose(v1_blob))
        self.assertTrue(self.has_loose(self.pointer("big.bin")["object"]))
        self.fsck_clean()

    def test_other_branch_keep_days(self):
        self.write("README", "hello\n")
        self.commit(message="init")  # README and .cairn/config
        self.git("checkout", "-q", "-b", "feature")
        self.write("data/big.bin", deterministic_bytes(BIG, seed=5))
        self.add1("data/big.bin")
        blob = self.pointer("data/big.bin")["object"]
        self.commit(message="data on feature", date=OLD)
        self.git("checkout", "-q", "main")
        self.assertFalse(os.path.exists(self.path("data/big.bin.cairn")))  # no workspace pointer now
        # Three days old: kept with the default 30 days, and with 5.
        self.json("gc", "--apply")
        self.assertTrue(self.has_loose(blob))
        self.json("gc", "--apply", "--keep-days", "5")
        self.assertTrue(self.has_loose(blob))
        # Protecting the branch keeps all of its history.
        self.json("gc", "--apply", "--keep-days", "0", "--protect", "feature")
        self.assertTrue(self.has_loose(blob))
        # --keep-days 0: the feature branch's data is collectable.
        before = self.full_snapshot()
        rep = self.json("gc", "--keep-days", "0")
        self.assertEqual(rep["objects_removed"], 1)
        self.assert_unchanged(before)
        rep = self.json("gc", "--apply", "--keep-days", "0")
        self.assertEqual(rep["objects_removed"], 1)
        self.assertFalse(self.has_loose(blob))
        self.fsck_clean()

    def test_recent_branch_commit_kept_with_keep_days_1(self):
        self.write("README", "hello\n")
        self.commit(message="init")  # README and .cairn/config
        self.git("checkout", "-q", "-b", "wip")
        self.write("big.bin", deterministic_bytes(BIG, seed=6))
        self.add1("big.bin")
        blob = self.pointer("big.bin")["object"]
        self.commit(message="today")
        self.git("checkout", "-q", "main")
        self.json("gc", "--apply", "--keep-days", "1")
        self.assertTrue(self.has_loose(blob))



class GcRunCacheRoots(CairnTestCase):
    """Run-cache entries are roots for --keep-days; a damaged one fails gc (closed)."""

    def setUp(self):
        super().setUp()
        self.write("in.txt", "x\n")
        self.ok("stage", "add", "s", "--cmd", "cp in.txt out.bin; head -c 200000 /dev/zero >> out.bin",
                "-d", "in.txt", "-o", "out.bin")
        self.ok("repro")
        self.v1_blob = self.pointer("out.bin")["object"]
        self.write("in.txt", "y\n")
        self.ok("repro")
        self.assertNotEqual(self.pointer("out.bin")["object"], self.v1_blob)

    def runcache_files(self):
        d = os.path.join(self.cairn_dir, "refs", "runcache")
        return [os.path.join(d, n) for n in os.listdir(d)]

    def test_outputs_of_young_entries_are_kept_and_a_revert_restores(self):
        self.ok("gc", "--apply")
        self.assertTrue(self.in_cache(self.v1_blob), "gc removed the output a run-cache entry names")
        self.write("in.txt", "x\n")
        r = self.ok("repro")
        self.assertIn("restored", r.stdout + r.stderr)
        self.assertEqual(self.pointer("out.bin")["object"], self.v1_blob)

    def test_entries_older_than_keep_days_are_not_roots(self):
        old = time.time() - 40 * 86400
        for f in self.runcache_files():
            os.utime(f, (old, old))
        self.ok("gc", "--apply", "--keep-days", "30")
        self.assertFalse(self.in_cache(self.v1_blob))

    def test_a_damaged_entry_fails_gc_and_removes_nothing(self):
        for f in self.runcache_files():
            os.chmod(f, 0o644)
            with open(f, "w") as fh:
                fh.write("garbage\n")
        before = self.store_snapshot()
        self.fails("gc", "--apply", msg="run-cache")
        self.assertEqual(self.store_snapshot(), before)


class GcDatasetCopies(CairnTestCase):
    """use_dataset copies (.cairn/datasets/<version hex>/) of versions gc no longer keeps are removed."""

    def setUp(self):
        super().setUp()
        self.write("d/a.txt", "one\n")
        self.v1 = self.add1("d")["version"]
        self.write("d/a.txt", "two\n")
        self.v2 = self.add1("d")["version"]

    def make_copy(self, version, age):
        d = os.path.join(self.cairn_dir, "datasets", version.split(":")[1])
        os.makedirs(d)
        with open(os.path.join(d, "a.txt"), "w") as f:
            f.write("copy\n")
        os.chmod(os.path.join(d, "a.txt"), 0o444)
        os.chmod(d, 0o555)
        t = time.time() - age
        os.utime(d, (t, t))
        return d

    def test_copies_of_dropped_versions_go_after_the_grace(self):
        old_dropped = self.make_copy(self.v1, 7200)
        live = self.make_copy(self.v2, 7200)
        other = os.path.join(self.cairn_dir, "datasets", "not-a-version")
        os.makedirs(other)
        rep = self.json("gc")
        self.assertEqual(rep["copies_removed"], 1)
        self.assertTrue(os.path.exists(old_dropped), "a dry run removed a copy")
        rep = self.json("gc", "--apply")
        self.assertEqual(rep["copies_removed"], 1)
        self.assertGreater(rep["copy_bytes_removed"], 0)
        self.assertFalse(os.path.exists(old_dropped))
        self.assertTrue(os.path.exists(live), "the copy of the workspace's version went")
        self.assertTrue(os.path.exists(other), "gc removed a directory it did not make")

    def test_young_copies_stay(self):
        young = self.make_copy(self.v1, 10)
        self.assertEqual(self.json("gc", "--apply")["copies_removed"], 0)
        self.assertTrue(os.path.exists(young))
        self.assertEqual(self.json("gc", "--apply", "--grace", "0")["copies_removed"], 1)
        self.assertFalse(os.path.exists(young))


if __name__ == "__main__":
    unittest.main()
