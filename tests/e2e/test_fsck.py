"""cairn fsck: a clean repository, and each kind of damage it must find."""

import json
import os
import unittest

from cairn_testlib import OK, CairnTestCase, NEGATIVE, deterministic_bytes

BIG = 200 * 1024


class Fsck(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.make_dataset_dir("data/tables")
        self.write(self.d + "/big.bin", deterministic_bytes(BIG, seed=9))
        self.copy_example("iris.csv", "iris.csv")
        self.add(self.d, "iris.csv")
        self.ok("tag", "iris.csv", "v1")
        self.big_oid = "sha256:" + self.sha(self.d + "/big.bin")
        self.iris_oid = self.pointer("iris.csv")["object"]

    def fsck_problems(self):
        r = self.cairn("fsck", "--json")
        self.assertEqual(r.returncode, NEGATIVE, "fsck should report damage:\n" + self.describe(r))
        rep = json.loads(r.stdout)
        self.assertFalse(rep["ok"])
        self.assertTrue(rep["problems"])
        return rep["problems"]

    def test_clean(self):
        r = self.fsck_clean()
        # 3 small blobs (iris.csv is stored once for both datasets) + big blob
        # + tree + 2 versions = 7 objects.
        self.assertRegex(r.stdout, r"^checked 7 object\(s\) \(.*\), 2 pointer file\(s\) and 0 run record\(s\): no problems\n$")
        rep = self.json("fsck")
        self.assertEqual(rep["ok"], True)
        self.assertEqual(rep["problems"], [])
        self.assertEqual(rep["objects_checked"], 7)
        self.assertEqual(rep["pointers_checked"], 2)
        self.assertGreater(rep["bytes_checked"], BIG)

    def test_corrupt_loose_blob(self):
        path = self.loose_path(self.big_oid)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o444)
        self.flip_byte(path, 1000)
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged object %s: " % self.big_oid, r.stdout)
        self.assertIn("corrupt", r.stdout)
        self.assertRegex(r.stdout, r"\d+ problem\(s\)\n$")
        problems = self.fsck_problems()
        self.assertIn(("object", self.big_oid), [(p["kind"], p["name"]) for p in problems])

    def test_truncated_loose_blob(self):
        path = self.loose_path(self.big_oid)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.truncate(BIG // 2)
        self.assertIn(self.big_oid, [p["name"] for p in self.fsck_problems()])

    def test_corrupt_version_object(self):
        version = self.pointer("iris.csv")["version"]
        path = self.loose_path(version)
        self.flip_byte(path, os.path.getsize(path) - 3)
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged object %s" % version, r.stdout)

    def test_corrupt_tree_object(self):
        tree = self.pointer(self.d)["object"]
        self.flip_byte(self.loose_path(tree), 20)
        self.assertIn(tree, [p["name"] for p in self.fsck_problems()])

    def test_corrupt_packed_blob(self):
        hexd = self.iris_oid[7:]
        entries = self.pack_entries()
        self.assertIn(hexd, entries)
        pack, offset, length = entries[hexd]
        self.assertEqual(length, 2734)
        self.flip_byte(pack, offset + 500)
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged object %s" % self.iris_oid, r.stdout)
        # Only that object: its neighbours in the pack are intact.
        names = [p["name"] for p in self.fsck_problems() if p["kind"] == "object"]
        self.assertEqual(names, [self.iris_oid])

    def test_missing_blob(self):
        os.remove(self.loose_path(self.big_oid))
        problems = self.fsck_problems()
        # The pointer that needs it names the missing blob (a tree nothing needs may lack blobs).
        self.assertTrue(any(p["kind"] == "pointer" and p["name"] == self.d + ".cairn" and "not in the cache" in p["message"]
                            and self.big_oid in p["message"] for p in problems), problems)

    def test_missing_version_named_by_tag_and_pointer(self):
        os.remove(self.loose_path(self.pointer("iris.csv")["version"]))
        problems = self.fsck_problems()
        kinds = {(p["kind"], p["name"]) for p in problems}
        self.assertIn(("tag", "iris.csv@v1"), kinds)
        self.assertIn(("pointer", "iris.csv.cairn"), kinds)

    def test_damaged_pointer_is_reported_not_fatal(self):
        with open(self.path("iris.csv.cairn"), "a") as f:
            f.write("format 99\n")
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged pointer", r.stdout)
        self.assertIn("iris.csv.cairn", r.stdout)

    def test_pointer_disagreeing_with_version(self):
        with open(self.path("iris.csv.cairn")) as f:
            text = f.read()
        with open(self.path("iris.csv.cairn"), "w") as f:
            f.write(text.replace(self.iris_oid, self.big_oid))
        problems = self.fsck_problems()
        self.assertTrue(any(p["kind"] == "pointer" and "does not agree" in p["message"] for p in problems), problems)

    def index_holding(self, oid):
        pack, _, _ = self.pack_entries()[oid.split(":", 1)[1]]
        return pack[:-len(".pack")] + ".idx"

    def test_damaged_pack_index_costs_only_its_objects_until_repaired(self):
        # A second pack, untouched, for data/other.
        self.write("other.txt", "in a pack of its own\n")
        self.add("other.txt")
        idx = self.index_holding(self.iris_oid)
        self.assertNotEqual(idx, self.index_holding("sha256:" + self.sha("other.txt")))
        with open(idx, "rb") as f:
            intact = f.read()
        self.flip_byte(idx, 30)
        rel_idx = os.path.relpath(idx, self.repo)

        # Every command used to fail here ("pack index checksum mismatch").
        st = self.status()
        self.assertEqual(st["other.txt"]["state"], "clean")
        # The workspace still has the hidden objects' files; the cache has lost sight of them.
        self.assertEqual(st["iris.csv"]["state"], "missing-from-cache")
        self.ok("log", "other.txt")
        os.remove(self.path("other.txt"))
        self.ok("checkout", "other.txt")  # read from its own, intact pack
        self.assertEqual(self.read("other.txt"), b"in a pack of its own\n")
        os.rename(self.path("iris.csv"), self.path("iris.saved"))
        self.fails("checkout", "iris.csv", msg="not in the cache", hint="cairn fsck --repair")
        os.rename(self.path("iris.saved"), self.path("iris.csv"))

        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged pack %s: pack index checksum mismatch" % rel_idx, r.stdout)
        self.assertIn("cairn fsck --repair", r.stdout)
        problems = self.fsck_problems()
        self.assertIn(("pack", rel_idx), [(p["kind"], p["name"]) for p in problems])

        r = self.cairn("fsck", "--repair")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertRegex(r.stdout, r"repaired pack \.cairn/cache/packs/pack-[0-9a-f]{32}\.pack \(its index "
                                   r"pack-[0-9a-f]{32}\.idx is damaged \(pack index checksum mismatch\)\): "
                                   r"\d+ object\(s\) kept, 0 damaged object\(s\) dropped\n")
        self.assertIn("no problems", r.stdout)
        with open(idx, "rb") as f:
            self.assertEqual(f.read(), intact)  # rebuilt from the pack, byte for byte
        self.fsck_clean()
        self.assertEqual(self.json("fsck", "--repair")["repaired"], [])  # nothing left to repair
        # The pack's objects are readable again.
        os.remove(self.path("iris.csv"))
        self.ok("checkout", "iris.csv")
        self.assertEqual(self.sha("iris.csv"), self.iris_oid[7:])

    def test_truncated_pack_with_good_index(self):
        pack, offset, length = self.pack_entries()[self.iris_oid[7:]]
        os.chmod(pack, 0o644)
        with open(pack, "r+b") as f:
            f.truncate(offset + length // 2)  # cuts iris.csv (and whatever followed it)
        problems = self.fsck_problems()
        damaged = [p for p in problems if p["kind"] == "object" and p["name"] == self.iris_oid]
        self.assertTrue(damaged, problems)
        self.assertIn("is damaged", damaged[0]["message"])
        self.assertIn(os.path.basename(pack), damaged[0]["message"])
        os.remove(self.path("iris.csv"))
        r = self.fails("checkout", "iris.csv", msg=self.iris_oid)
        self.assertNotIn("Traceback", r.stderr)

        rep = json.loads(self.cairn("fsck", "--repair", "--json").stdout)
        self.assertGreaterEqual(sum(p["objects_dropped"] for p in rep["repaired"]), 1, rep)
        # Dropped, so it is reported missing now, and adding the file again heals it.
        self.assertFalse(rep["ok"])
        self.assertTrue(any("not in the cache" in p["message"] for p in rep["problems"]), rep["problems"])
        self.copy_example("iris.csv", "iris.csv")
        self.ok("add", "iris.csv", self.d)
        self.fsck_clean()

    def test_fsck_is_read_only(self):
        self.flip_byte(self.loose_path(self.big_oid), 10)
        before = self.full_snapshot()
        self.cairn("fsck")
        self.cairn("fsck", "--json")
        self.assert_unchanged(before)


if __name__ == "__main__":
    unittest.main()
