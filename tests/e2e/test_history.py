"""cairn log, diff, ls and show: text and --json output."""

import os
import re
import unittest

from cairn_testlib import OID_RE, CairnTestCase


class History(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.make_dataset_dir("data/tables")
        self.v1 = self.add1(self.d, message="first import")["version"]
        self.append(self.d + "/iris.csv", "6.0,3.0,4.0,1.0,1\n")
        os.remove(self.path(self.d + "/wine_data.csv"))
        self.write(self.d + "/notes.txt", "hello\n")
        self.v2 = self.add1(self.d, message="line one\nline two")["version"]

    def test_log_json(self):
        log = self.json("log", self.d)
        self.assertEqual([e["version"] for e in log], [self.v2, self.v1])
        e2, e1 = log
        for e in log:
            self.assertRegex(e["version"], OID_RE)
            self.assertRegex(e["object"], OID_RE)
            self.assertEqual(e["dataset"], self.d)
            self.assertEqual(e["kind"], "tree")
            self.assertEqual(e["author"], "Test User <test@example.com>")
            self.assertIsInstance(e["time"], int)
            self.assertEqual(e["tags"], [])
            self.assertTrue(e["data_present"])
        self.assertEqual(e2["parents"], [self.v1])
        self.assertEqual(e1["parents"], [])
        self.assertEqual(e1["message"], "first import")
        self.assertEqual(e2["message"], "line one\nline two")  # multi-line messages survive
        self.assertEqual(e1["files"], 3)
        self.assertEqual(e2["files"], 3)
        self.assertEqual(e2["size"], sum(os.path.getsize(self.path(self.d + "/" + f))
                                         for f in ("iris.csv", "notes.txt", "sub/breast_cancer.csv")))
        # -n limits.
        self.assertEqual(len(self.json("log", "-n", "1", self.d)), 1)

    def test_log_text(self):
        r = self.ok("log", self.d)
        blocks = re.findall(r"^version ([0-9a-f]{64})$", r.stdout, re.M)
        self.assertEqual(blocks, [self.v2[7:], self.v1[7:]])
        self.assertIn("Author: Test User <test@example.com>", r.stdout)
        self.assertIn("in 3 file(s)", r.stdout)
        self.assertIn("    first import", r.stdout)
        self.assertNotIn("[data removed by gc]", r.stdout)

    def test_diff_two_refs(self):
        r = self.ok("diff", self.d + "~1", self.d)
        lines = r.stdout.splitlines()
        self.assertIn("A  notes.txt (6 B)", lines)
        self.assertTrue(any(l.startswith("D  wine_data.csv (") for l in lines), r.stdout)
        self.assertTrue(any(l.startswith("M  iris.csv (") and " -> " in l for l in lines), r.stdout)
        self.assertEqual(lines[-1], "1 added, 1 modified, 1 deleted")
        d = self.json("diff", self.d + "~1", self.d)
        self.assertEqual(d["from"], self.v1)
        self.assertEqual(d["to"], self.v2)
        self.assertEqual((d["added"], d["modified"], d["deleted"]), (1, 1, 1))
        changes = {c["path"]: c for c in d["changes"]}
        self.assertEqual(changes["notes.txt"], {"path": "notes.txt", "change": "added", "old_size": 0, "new_size": 6})
        self.assertEqual(changes["iris.csv"]["change"], "modified")
        self.assertEqual(changes["iris.csv"]["new_size"] - changes["iris.csv"]["old_size"], 18)
        self.assertEqual(changes["wine_data.csv"]["change"], "deleted")
        self.assertEqual(changes["wine_data.csv"]["new_size"], 0)
        # Reversed.
        d = self.json("diff", self.d, self.d + "~1")
        self.assertEqual((d["added"], d["modified"], d["deleted"]), (1, 1, 1))
        self.assertEqual({c["path"]: c["change"] for c in d["changes"]}["notes.txt"], "deleted")
        # Same version.
        r = self.ok("diff", self.d, self.d + "@latest")
        self.assertEqual(r.stdout, "0 added, 0 modified, 0 deleted\n")

    def test_diff_against_workspace(self):
        r = self.ok("diff", self.d)
        self.assertEqual(r.stdout, "0 added, 0 modified, 0 deleted\n")
        self.write(self.d + "/extra.csv", "a,b\n")
        d = self.json("diff", self.d)
        self.assertEqual(d["to"], "workspace")
        self.assertEqual(d["changes"], [{"path": "extra.csv", "change": "added", "old_size": 0, "new_size": 4}])
        # An older version against the workspace.
        d = self.json("diff", self.d + "~1")
        self.assertEqual((d["added"], d["modified"], d["deleted"]), (2, 1, 1))

    def test_diff_single_file_dataset(self):
        self.copy_example("iris.csv", "iris.csv")
        self.add1("iris.csv")
        self.append("iris.csv", "1,1,1,1,1\n")
        self.add1("iris.csv")
        d = self.json("diff", "iris.csv~1", "iris.csv")
        self.assertEqual(d["changes"], [{"path": "iris.csv", "change": "modified", "old_size": 2734,
                                         "new_size": 2744}])
        self.assertEqual(self.json("diff", "iris.csv")["changes"], [])

    def test_diff_without_workspace_copy(self):
        os.remove(self.path(self.d + ".cairn"))
        self.fails("diff", self.d, msg="is not in the workspace", hint="give a second ref")
        # Two refs still work from the dataset's history in this clone.
        self.assertEqual(self.json("diff", self.d + "@latest~1", self.d + "@latest")["added"], 1)

    def test_ls(self):
        r = self.ok("ls", self.d)
        self.assertEqual(r.stdout.splitlines(), ["iris.csv", "notes.txt", "sub/breast_cancer.csv"])
        r = self.ok("ls", self.d + "~1")
        self.assertEqual(r.stdout.splitlines(), ["iris.csv", "sub/breast_cancer.csv", "wine_data.csv"])
        r = self.ok("ls", "-l", self.d)
        line = [l for l in r.stdout.splitlines() if l.endswith("\tnotes.txt")][0]
        self.assertEqual(line, "644 6\tsha256:%s\tnotes.txt" % self.sha(self.d + "/notes.txt"))
        listing = self.json("ls", self.d)
        self.assertEqual(listing[1], {"path": "notes.txt", "executable": False, "size": 6,
                                      "oid": "sha256:" + self.sha(self.d + "/notes.txt")})
        # A single-file version lists one entry named after the file.
        self.copy_example("iris.csv", "iris.csv")
        self.add1("iris.csv")
        self.assertEqual(self.ok("ls", "iris.csv").stdout, "iris.csv\n")

    def test_show_text(self):
        r = self.ok("show", self.d)
        out = r.stdout
        self.assertIn("version  %s\n" % self.v2, out)
        self.assertIn("dataset  data/tables (at data/tables)\n", out)
        self.assertIn("kind     directory\n", out)
        self.assertIn("files    3\n", out)
        self.assertIn("parent   %s\n" % self.v1, out)
        self.assertIn("author   Test User <test@example.com>\n", out)
        self.assertRegex(out, r"date     \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\n")
        self.assertNotIn("[not in cache]", out)
        r = self.ok("show", self.d + "~1")
        self.assertIn("version  %s\n" % self.v1, r.stdout)
        self.assertNotIn("parent", r.stdout)
        self.assertIn("message  first import\n", r.stdout)

    def test_show_json(self):
        s = self.json("show", self.d)
        self.assertEqual(s["version"], self.v2)
        self.assertEqual(s["parents"], [self.v1])
        self.assertEqual(s["path"], self.d)
        self.assertEqual(s["tags"], [])
        self.assertTrue(s["data_present"])
        self.assertEqual(s["object"], self.pointer(self.d)["object"])
        self.assertEqual(set(s), {"version", "dataset", "kind", "object", "size", "files", "parents", "author",
                                  "time", "message", "tags", "data_present", "path"})

    def test_read_commands_change_nothing(self):
        before = self.full_snapshot()
        for args in (["log", self.d], ["diff", self.d], ["diff", self.d + "~1", self.d], ["ls", "-l", self.d],
                     ["show", self.d], ["tag", "--list"]):
            self.ok(*args)
        self.assert_unchanged(before)


if __name__ == "__main__":
    unittest.main()
