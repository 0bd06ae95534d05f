"""cairn tag: create, list, delete, immutability, golden tags."""

import os
import unittest

from cairn_testlib import CairnTestCase


class Tags(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.make_dataset_dir("data/tables")
        self.v1 = self.add1(self.d)["version"]
        self.append(self.d + "/iris.csv", "1,1,1,1,1\n")
        self.v2 = self.add1(self.d)["version"]
        self.tags_dir = os.path.join(self.cairn_dir, "refs", "tags", "data%2Ftables")

    def test_create_list_delete(self):
        r = self.ok("tag", self.d + "~1", "v1.0", "-m", "first release")
        self.assertEqual(r.stdout, "tagged data/tables@v1.0 -> %s\n" % self.v1[7:19])
        self.assertTrue(os.path.isfile(os.path.join(self.tags_dir, "v1.0")))
        t = self.json("tag", self.d, "v2.0")
        # The tag shape of doc/json.md, as 'tag --list' prints it.
        self.assertEqual(t, {"dataset": "data/tables", "tag": "v2.0", "version": self.v2, "golden": False,
                             "author": "Test User <test@example.com>", "message": "", "time": t.get("time")})
        self.assertIsInstance(t["time"], int)

        tags = self.json("tag", "--list")
        self.assertEqual([(t["dataset"], t["tag"], t["version"]) for t in tags],
                         [("data/tables", "v1.0", self.v1), ("data/tables", "v2.0", self.v2)])
        self.assertEqual(tags[0]["message"], "first release")
        self.assertEqual(tags[0]["author"], "Test User <test@example.com>")
        self.assertFalse(tags[0]["golden"])
        self.assertIsInstance(tags[0]["time"], int)
        r = self.ok("tag", "--list")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("data/tables@v1.0\t%s\t" % self.v1[7:19]), lines)
        self.assertTrue(lines[0].endswith("\tfirst release"), lines)

        # Tags show up in log and show, and resolve.
        self.assertEqual(self.json("show", self.d + "@v1.0")["tags"], ["v1.0"])
        self.assertEqual([e["tags"] for e in self.json("log", self.d)], [["v2.0"], ["v1.0"]])
        self.assertIn("(tag: v2.0)", self.ok("log", self.d).stdout)

        r = self.ok("tag", "--delete", self.d + "@v1.0")
        self.assertEqual(r.stdout, "deleted tag data/tables@v1.0\n")
        self.assertFalse(os.path.exists(os.path.join(self.tags_dir, "v1.0")))
        self.fails("show", self.d + "@v1.0", msg="has no tag 'v1.0'", hint="its tags here: v2.0")
        # The two-argument form.
        self.ok("tag", "-d", self.d, "v2.0")
        self.assertEqual(self.json("tag", "--list"), [])
        # The version itself is untouched.
        self.assertEqual(self.json("show", self.d)["version"], self.v2)

    def test_list_filter(self):
        self.copy_example("iris.csv", "iris.csv")
        self.add1("iris.csv")
        self.ok("tag", self.d, "a1")
        self.ok("tag", "iris.csv", "b1")
        self.assertEqual([t["tag"] for t in self.json("tag", "--list", "iris.csv")], ["b1"])
        self.assertEqual([t["tag"] for t in self.json("tag", "--list", self.d)], ["a1"])
        self.assertEqual(len(self.json("tag", "--list")), 2)
        self.fails("tag", "--list", "nope", msg="unknown dataset 'nope'")

    def test_tag_by_oid_prefix(self):
        self.ok("tag", self.d + "@" + self.v1[7:15], "old")
        self.assertEqual(self.json("show", self.d + "@old")["version"], self.v1)

    def test_tags_are_immutable(self):
        self.ok("tag", self.d + "~1", "v1.0")
        tag_file = os.path.join(self.tags_dir, "v1.0")
        with open(tag_file, "rb") as f:
            content = f.read()
        before = self.full_snapshot()
        # Re-pointing, and even re-creating on the same version, fail.
        self.fails("tag", self.d, "v1.0", msg="tag data/tables@v1.0 already exists", hint="tags are immutable")
        self.fails("tag", self.d + "~1", "v1.0", msg="already exists")
        self.fails("tag", self.d + "~1", "v1.0", "--golden", msg="already exists")
        self.assert_unchanged(before)
        with open(tag_file, "rb") as f:
            self.assertEqual(f.read(), content)
        self.assertEqual(self.json("show", self.d + "@v1.0")["version"], self.v1)
        self.assertEqual(sorted(os.listdir(self.tags_dir)), ["v1.0"])  # no temp files left

    def test_golden_tag_cannot_be_deleted(self):
        r = self.ok("tag", self.d, "paper", "--golden", "-m", "frozen")
        self.assertIn("(golden: protected forever)", r.stdout)
        self.assertTrue(self.json("tag", "--list")[0]["golden"])
        self.assertIn("\tgolden\t", self.ok("tag", "--list").stdout)
        self.assertEqual(self.json("show", self.d)["tags"], ["paper (golden)"])
        before = self.full_snapshot()
        self.fails("tag", "--delete", self.d + "@paper", msg="tag data/tables@paper is golden and cannot be deleted",
                   hint="protected forever")
        self.fails("tag", "-d", self.d, "paper", msg="is golden")
        self.assert_unchanged(before)
        self.assertEqual(self.json("show", self.d + "@paper")["version"], self.v2)

    def test_invalid_tag_names(self):
        before = self.full_snapshot()
        for name, why in (("latest", "reserved"), ("abcdef0", "oid prefix"), ("deadbeefcafe", "oid prefix"), ("_x", "start with"),
                          (".hidden", "start with a letter or digit"),
                          ("a/b", "only letters"), ("a b", "only letters"), ("x" * 129, "longer than 128")):
            with self.subTest(name=name):
                self.fails("tag", self.d, name, msg="invalid tag name")
        self.assert_unchanged(before)
        # Short hex-looking names and names with . _ - + are fine.
        self.ok("tag", self.d, "abc123")
        self.ok("tag", self.d, "v1.0_rc-1+build")

    def test_delete_errors(self):
        self.fails("tag", "--delete", self.d + "@nope", msg="tag data/tables@nope does not exist")
        self.fails("tag", "--delete", self.d, msg="--delete needs DATASET@TAG")
        self.fails("tag", "--delete", "nope@v1", msg="unknown dataset 'nope'")
        self.fails("tag", "--list", "--delete", msg="exclude each other")

    def test_usage_errors(self):
        self.fails("tag", self.d, msg="tag needs REF and TAG")
        self.fails("tag", "nope", "v1", msg="unknown dataset 'nope'")
        self.fails("tag", self.d + "~5", "v1", msg="goes back 5 versions")
        self.assertEqual(self.json("tag", "--list"), [])

    def test_tag_of_version_not_in_cache(self):
        os.remove(self.loose_path(self.v2))
        before = self.full_snapshot()
        self.fails("tag", self.d, "gone", msg="is not in the cache")
        self.assert_unchanged(before)


if __name__ == "__main__":
    unittest.main()
