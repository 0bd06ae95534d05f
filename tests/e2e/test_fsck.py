"""cairn fsck: a clean repository, and each kind of damage it must find."""

import json
import os
import unittest

from cairn_testlib import CairnTestCase, NEGATIVE, deterministic_bytes

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
        self.assertTrue(any(p["kind"] == "pointer" and p["name"] == self.d + ".cairn" and "not in the cache" in p["message"]
                            for p in problems), problems)
        self.assertTrue(any(p["kind"] == "tree" and self.big_oid in p["message"] for p in problems), problems)

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

    def test_fsck_is_read_only(self):
        self.flip_byte(self.loose_path(self.big_oid), 10)
        before = self.full_snapshot()
        self.cairn("fsck")
        self.cairn("fsck", "--json")
        self.assert_unchanged(before)


if __name__ == "__main__":
    unittest.main()
