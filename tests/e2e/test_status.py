"""cairn status: each state, counts, --exit-code, -v, --json, path filters."""

import os
import shutil
import time
import unittest

from cairn_testlib import CairnTestCase, NEGATIVE, deterministic_bytes


class Status(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.make_dataset_dir("data/tables")
        self.write("data/blob.bin", deterministic_bytes(200 * 1024, seed=7))
        self.copy_example("iris.csv", "iris.csv")
        self.add("data/tables", "data/blob.bin", "iris.csv")

    def test_no_tracked_paths(self):
        for p in ("data/tables", "data/blob.bin", "iris.csv"):
            os.remove(self.path(p + ".cairn"))
        r = self.ok("status", "--exit-code")
        self.assertIn("no tracked paths", r.stdout)
        self.assertEqual(self.json("status"), [])

    def test_clean(self):
        r = self.ok("status", "--exit-code")
        self.assertEqual(r.stdout.splitlines(),
                         ["data/blob.bin: clean", "data/tables: clean", "iris.csv: clean"])
        st = self.status()
        self.assertEqual(sorted(st), ["data/blob.bin", "data/tables", "iris.csv"])
        for s in st.values():
            self.assertEqual(s["state"], "clean")
            self.assertEqual((s["added"], s["modified"], s["deleted"]), (0, 0, 0))
            self.assertEqual(s["changes"], [])
            self.assertEqual(s["version"], self.pointer(s["path"])["version"])
            self.assertEqual(s["dataset"], s["path"])

    def test_modified_directory_counts(self):
        self.append(self.d + "/iris.csv", "1,2,3,4,0\n")
        os.remove(self.path(self.d + "/wine_data.csv"))
        self.write(self.d + "/new/a.txt", "a\n")
        self.write(self.d + "/new/b.txt", "b\n")
        r = self.cairn("status", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("data/tables: modified (2 added, 1 modified, 1 deleted)", r.stdout)
        self.assertIn("data/blob.bin: clean", r.stdout)
        self.assertIn("hint: 'cairn add PATH' records changes", r.stdout)
        # Without --exit-code a dirty workspace is still exit 0.
        self.ok("status")
        r = self.ok("status", "-v")
        self.assertIn("    A new/a.txt", r.stdout)
        self.assertIn("    A new/b.txt", r.stdout)
        self.assertIn("    M iris.csv", r.stdout)
        self.assertIn("    D wine_data.csv", r.stdout)
        s = self.status()["data/tables"]
        self.assertEqual(s["state"], "modified")
        self.assertEqual((s["added"], s["modified"], s["deleted"]), (2, 1, 1))
        changes = {c["path"]: c for c in s["changes"]}
        self.assertEqual(changes["iris.csv"]["change"], "modified")
        self.assertEqual(changes["iris.csv"]["new_size"], changes["iris.csv"]["old_size"] + 10)
        self.assertEqual(changes["wine_data.csv"]["change"], "deleted")
        self.assertEqual(changes["new/a.txt"]["change"], "added")
        self.assertEqual(changes["new/a.txt"]["new_size"], 2)

    def test_modified_file_same_size_same_mtime_window(self):
        # Same size, different bytes, written right after the add: must not be
        # mistaken for clean by the stat cache.
        data = bytearray(self.read("iris.csv"))
        data[100] ^= 1
        self.write("iris.csv", bytes(data))
        s = self.status()["iris.csv"]
        self.assertEqual(s["state"], "modified")
        self.assertEqual((s["added"], s["modified"], s["deleted"]), (0, 1, 0))

    def test_executable_bit_change_is_a_modification(self):
        os.chmod(self.path(self.d + "/iris.csv"), 0o755)
        s = self.status()["data/tables"]
        self.assertEqual(s["state"], "modified")
        self.assertEqual(s["modified"], 1)

    def test_missing_from_workspace(self):
        shutil.rmtree(self.path(self.d))
        os.remove(self.path("iris.csv"))
        r = self.cairn("status", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("data/tables: missing-from-workspace", r.stdout)
        self.assertIn("iris.csv: missing-from-workspace", r.stdout)
        st = self.status()
        self.assertEqual(st["data/tables"]["state"], "missing-from-workspace")
        self.assertEqual(st["data/blob.bin"]["state"], "clean")

    def test_missing_from_cache_blob(self):
        oid = self.pointer("data/blob.bin")["object"]
        os.remove(self.loose_path(oid))
        r = self.cairn("status", "--exit-code", "data/blob.bin")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertEqual(r.stdout.splitlines()[0], "data/blob.bin: missing-from-cache")

    def test_missing_from_cache_tree(self):
        os.remove(self.loose_path(self.pointer(self.d)["object"]))
        self.assertEqual(self.status(self.d)[self.d]["state"], "missing-from-cache")
        r = self.cairn("status", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE)

    def test_missing_from_cache_version(self):
        os.remove(self.loose_path(self.pointer("iris.csv")["version"]))
        self.assertEqual(self.status("iris.csv")["iris.csv"]["state"], "missing-from-cache")
        # Also once the stat cache trusts the file (its mtime is past the racy window).
        time.sleep(0.1)
        self.cairn("status")
        self.assertEqual(self.status("iris.csv")["iris.csv"]["state"], "missing-from-cache")

    def test_path_filter(self):
        self.append(self.d + "/iris.csv", "x\n")
        r = self.ok("status", "--exit-code", "iris.csv")
        self.assertEqual(r.stdout.splitlines(), ["iris.csv: clean"])
        # The pointer path and a path inside the tracked directory select it too.
        self.assertEqual(list(self.status("iris.csv.cairn")), ["iris.csv"])
        self.assertEqual(list(self.status(self.d + "/iris.csv")), [self.d])
        self.assertEqual(list(self.status("data")), ["data/blob.bin", self.d])
        r = self.cairn("status", "--exit-code", "data")
        self.assertEqual(r.returncode, NEGATIVE)
        # From a subdirectory, paths are relative to it.
        r = self.ok("status", "blob.bin", cwd=self.path("data"))
        self.assertEqual(r.stdout.splitlines(), ["data/blob.bin: clean"])

    def test_untracked_path_filter_is_an_error(self):
        self.write("other.txt", "x")
        self.fails("status", "other.txt", msg="other.txt is not tracked by cairn", hint="cairn add other.txt")
        self.fails("status", "nope/nothing", msg="is not tracked by cairn")
        self.fails("status", "/etc/passwd", msg="is outside the repository")

    def test_status_is_read_only(self):
        self.append(self.d + "/iris.csv", "x\n")
        before = self.full_snapshot()
        self.cairn("status", "-v")
        self.json("status")
        self.assert_unchanged(before)


if __name__ == "__main__":
    unittest.main()
