"""cairn add: pointers, .gitignore lines, dataset names, re-adding."""

import os
import time
import unittest

from cairn_testlib import OID_RE, CairnTestCase, deterministic_bytes, sha256_bytes, sha256_file


class AddFile(CairnTestCase):

    def test_add_file_writes_pointer_and_gitignore(self):
        self.copy_example("iris.csv", "data/iris.csv")
        r = self.ok("add", "data/iris.csv", "-m", "first import")
        self.assertIn("added data/iris.csv as dataset data/iris.csv: 1 file(s)", r.stdout)
        self.assertIn("To record it in git: git add data/iris.csv.cairn && git commit", r.stdout)

        with open(self.path("data/iris.csv.cairn")) as f:
            text = f.read()
        self.assertTrue(text.startswith("# cairn pointer"), text)
        p = self.pointer("data/iris.csv")
        self.assertEqual(p["format"], "1")
        self.assertEqual(p["dataset"], "data/iris.csv")
        self.assertEqual(p["kind"], "blob")
        self.assertRegex(p["version"], OID_RE)
        # A blob's oid is the plain SHA-256 of the file (what sha256sum prints).
        self.assertEqual(p["object"], "sha256:" + self.sha("data/iris.csv"))
        self.assertEqual(p["size"], str(os.path.getsize(self.path("data/iris.csv"))))
        self.assertEqual(p["files"], "1")
        self.assertIn(p["version"][7:19], r.stdout)

        with open(self.path("data/.gitignore")) as f:
            self.assertEqual(f.read().splitlines(), ["/iris.csv"])
        # git now tracks the pointer but ignores the data.
        self.git("add", "-A")
        staged = self.git("diff", "--cached", "--name-only").stdout.split()
        self.assertIn("data/iris.csv.cairn", staged)
        self.assertIn("data/.gitignore", staged)
        self.assertNotIn("data/iris.csv", staged)

        # The version records the message and the git author.
        v = self.json("show", "data/iris.csv")
        self.assertEqual(v["version"], p["version"])
        self.assertEqual(v["message"], "first import")
        self.assertEqual(v["author"], "Test User <test@example.com>")
        self.assertEqual(v["parents"], [])
        self.assertEqual(v["kind"], "blob")
        self.assertTrue(v["data_present"])
        self.assertEqual(v["path"], "data/iris.csv")
        self.fsck_clean()

    def test_add_json(self):
        self.copy_example("wine_data.csv", "wine.csv")
        res = self.add1("wine.csv")
        size = os.path.getsize(self.path("wine.csv"))
        self.assertEqual(res["path"], "wine.csv")
        self.assertEqual(res["dataset"], "wine.csv")
        self.assertEqual(res["version"], self.pointer("wine.csv")["version"])
        self.assertIsNone(res["parent"])
        self.assertFalse(res["unchanged"])
        self.assertEqual((res["files"], res["bytes"]), (1, size))
        self.assertEqual((res["files_hashed"], res["bytes_hashed"]), (1, size))

    def test_large_file_is_a_loose_object_small_is_packed(self):
        big = deterministic_bytes(300 * 1024, seed=1)
        self.write("big.bin", big)
        self.copy_example("iris.csv", "small.csv")
        res = self.add("big.bin", "small.csv")
        self.assertEqual([r["path"] for r in res], ["big.bin", "small.csv"])
        big_oid = self.pointer("big.bin")["object"]
        self.assertEqual(big_oid, "sha256:" + sha256_bytes(big))
        self.assertTrue(self.has_loose(big_oid))
        self.assertEqual(sha256_file(self.loose_path(big_oid)), sha256_bytes(big))
        self.assertEqual(os.stat(self.loose_path(big_oid)).st_mode & 0o777, 0o444)
        small_oid = self.pointer("small.csv")["object"]
        self.assertFalse(self.has_loose(small_oid))
        self.assertTrue(self.is_packed(small_oid))
        # Versions are loose objects.
        self.assertTrue(self.has_loose(self.pointer("big.bin")["version"]))
        # Both datasets got their .gitignore line, once each.
        with open(self.path(".gitignore")) as f:
            self.assertEqual(sorted(f.read().splitlines()), ["/big.bin", "/small.csv"])
        self.assertEqual(self.tmp_leftovers(), [])
        self.fsck_clean()

    def test_gitignore_existing_content_kept(self):
        self.write("data/.gitignore", "*.log\n/other")  # no final newline
        self.copy_example("iris.csv", "data/iris.csv")
        self.ok("add", "data/iris.csv")
        with open(self.path("data/.gitignore")) as f:
            self.assertEqual(f.read(), "*.log\n/other\n/iris.csv\n")
        # Re-adding (changed or not) never duplicates the line.
        self.ok("add", "data/iris.csv")
        self.append("data/iris.csv", "1,2,3,4,0\n")
        self.ok("add", "data/iris.csv")
        with open(self.path("data/.gitignore")) as f:
            self.assertEqual(f.read(), "*.log\n/other\n/iris.csv\n")

    def test_add_from_subdirectory_and_absolute_path(self):
        self.copy_example("iris.csv", "a/b/iris.csv")
        self.copy_example("wine_data.csv", "a/wine.csv")
        res = self.add1("iris.csv", cwd=self.path("a/b"))
        self.assertEqual(res["path"], "a/b/iris.csv")
        self.assertEqual(res["dataset"], "a/b/iris.csv")
        self.assertTrue(os.path.isfile(self.path("a/b/iris.csv.cairn")))
        self.assertTrue(os.path.isfile(self.path("a/b/.gitignore")))
        # An absolute path works from anywhere inside the repository.
        res = self.add1(self.path("a/wine.csv"), cwd=self.path("a/b"))
        self.assertEqual(res["path"], "a/wine.csv")
        # From outside, there is no repository to find.
        self.fails("add", self.path("a/wine.csv"), cwd=self.tmp, msg="not a cairn repository")

    def test_add_with_name(self):
        self.copy_example("iris.csv", "data/iris.csv")
        res = self.add1("data/iris.csv", name="flowers/iris")
        self.assertEqual(res["dataset"], "flowers/iris")
        self.assertEqual(self.pointer("data/iris.csv")["dataset"], "flowers/iris")
        # The name is resolvable, and so is the path.
        self.assertEqual(self.json("show", "flowers/iris")["path"], "data/iris.csv")
        self.assertEqual(self.json("show", "data/iris.csv")["dataset"], "flowers/iris")
        # Re-adding keeps the name without --name ...
        self.append("data/iris.csv", "9,9,9,9,0\n")
        res2 = self.add1("data/iris.csv")
        self.assertEqual(res2["dataset"], "flowers/iris")
        self.assertEqual(res2["parent"], res["version"])
        # ... and refuses a different one.
        self.append("data/iris.csv", "8,8,8,8,0\n")
        before = self.full_snapshot()
        self.fails("add", "data/iris.csv", "--name", "other", msg="already tracked as dataset 'flowers/iris'")
        self.assert_unchanged(before)

    def test_single_file_with_name_is_clean_after_add(self):
        # The file's name (iris.csv) differs from the dataset's last component (iris).
        self.copy_example("iris.csv", "data/iris.csv")
        self.add1("data/iris.csv", name="iris")
        st = self.status()["data/iris.csv"]
        self.assertEqual(st["state"], "clean", st)
        self.ok("status", "--exit-code")
        d = self.json("diff", "iris")
        self.assertEqual((d["added"], d["modified"], d["deleted"]), (0, 0, 0), d)

    def test_invalid_names(self):
        self.copy_example("iris.csv", "iris.csv")
        for name in ("../evil", "/abs", "a//b", "a@b", "a~1", "./x"):
            with self.subTest(name=name):
                before = self.full_snapshot()
                self.fails("add", "iris.csv", "--name", name, msg="invalid dataset name")
                self.assert_unchanged(before)
                self.assertFalse(os.path.exists(self.path("iris.csv.cairn")))
        self.fails("add", "iris.csv", "iris.csv", msg="was given twice")
        self.copy_example("wine_data.csv", "wine.csv")
        self.fails("add", "iris.csv", "wine.csv", "--name", "x", msg="--name applies to one path")
        self.assertFalse(os.path.exists(self.path("iris.csv.cairn")))
        self.assertFalse(os.path.exists(self.path("wine.csv.cairn")))


class AddDirectory(CairnTestCase):

    def test_add_directory(self):
        d = self.make_dataset_dir("data/tables")
        files = ["iris.csv", "sub/breast_cancer.csv", "wine_data.csv"]
        total = sum(os.path.getsize(self.path(d + "/" + f)) for f in files)
        r = self.ok("add", d)
        self.assertIn("added data/tables as dataset data/tables: 3 file(s)", r.stdout)
        p = self.pointer(d)
        self.assertEqual(p["kind"], "tree")
        self.assertEqual(p["dataset"], "data/tables")
        self.assertEqual(p["files"], "3")
        self.assertEqual(p["size"], str(total))
        self.assertTrue(self.has_loose(p["object"]))  # trees are loose objects
        with open(self.path("data/.gitignore")) as f:
            self.assertEqual(f.read().splitlines(), ["/tables"])
        listing = self.json("ls", d)
        self.assertEqual([e["path"] for e in listing], files)
        for e in listing:
            self.assertEqual(e["oid"], "sha256:" + self.sha(d + "/" + e["path"]))
            self.assertEqual(e["size"], os.path.getsize(self.path(d + "/" + e["path"])))
            self.assertFalse(e["executable"])
        # A trailing slash names the same path.
        r = self.ok("add", d + "/")
        self.assertIn("unchanged", r.stdout)
        self.fsck_clean()

    def test_empty_directory_and_nested_pointers(self):
        self.make_dataset_dir("data/tables")
        self.ok("add", "data/tables")
        # A path inside a tracked directory cannot be tracked on its own.
        before = self.full_snapshot()
        self.fails("add", "data/tables/iris.csv", msg="is inside the tracked path data/tables")
        self.assert_unchanged(before)
        # A directory containing a pointer file cannot be added as a whole.
        before = self.full_snapshot()
        self.fails("add", "data", msg="contains the pointer file")
        self.assert_unchanged(before)
        # Adding the pointer file itself is refused.
        self.fails("add", "data/tables.cairn", msg="is a pointer file")
        self.assert_unchanged(before)

    def test_reading_files_only_once(self):
        d = self.make_dataset_dir("data/tables")
        first = self.add1(d)
        self.assertEqual(first["files_hashed"], 3)
        # Unchanged: nothing is re-read (stat cache).  Let the racy window pass first.
        time.sleep(0.1)
        self.add1(d)
        again = self.add1(d)
        self.assertTrue(again["unchanged"])
        self.assertEqual(again["version"], first["version"])
        self.assertEqual(again["files_hashed"], 0)


class ReAdd(CairnTestCase):

    def test_re_add_unchanged(self):
        self.copy_example("iris.csv", "iris.csv")
        first = self.add1("iris.csv")
        pointer = self.pointer_bytes("iris.csv")
        before = self.store_snapshot()
        r = self.ok("add", "iris.csv")
        self.assertEqual(r.stdout.splitlines()[0],
                         "iris.csv: unchanged, nothing to add (version %s)" % first["version"][7:19])
        self.assertNotIn("git add", r.stdout)
        res = self.add1("iris.csv")
        self.assertTrue(res["unchanged"])
        self.assertEqual(res["version"], first["version"])
        self.assertEqual(self.pointer_bytes("iris.csv"), pointer)
        self.assertEqual(self.store_snapshot(), before)
        self.assertEqual(len(self.json("log", "iris.csv")), 1)

    def test_re_add_changed_file_makes_child_version(self):
        self.copy_example("iris.csv", "iris.csv")
        v1 = self.add1("iris.csv", message="v1")["version"]
        self.append("iris.csv", "5.0,3.0,1.0,0.2,0\n")
        r = self.ok("add", "iris.csv", "-m", "v2")
        self.assertIn("(parent %s)" % v1[7:19], r.stdout)
        v2 = self.pointer("iris.csv")["version"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.pointer("iris.csv")["object"], "sha256:" + self.sha("iris.csv"))
        show = self.json("show", "iris.csv")
        self.assertEqual(show["version"], v2)
        self.assertEqual(show["parents"], [v1])
        self.assertEqual(show["message"], "v2")
        log = self.json("log", "iris.csv")
        self.assertEqual([e["version"] for e in log], [v2, v1])
        # The old data stays in the cache.
        self.assertTrue(self.in_cache(self.json("show", "iris.csv~1")["object"]))
        self.fsck_clean()

    def test_re_add_changed_directory(self):
        d = self.make_dataset_dir("data/tables")
        v1 = self.add1(d)["version"]
        os.remove(self.path(d + "/wine_data.csv"))
        self.write(d + "/new.txt", "hello\n")
        self.append(d + "/iris.csv", "1,1,1,1,1\n")
        res = self.add1(d)
        self.assertEqual(res["parent"], v1)
        self.assertEqual(res["files"], 3)
        self.assertEqual(self.json("show", d)["parents"], [v1])
        self.assertEqual([e["path"] for e in self.json("ls", d)], ["iris.csv", "new.txt", "sub/breast_cancer.csv"])

    def test_re_add_after_pointer_removed_continues_history(self):
        # Without a pointer, the parent is the dataset's latest version in this clone.
        self.copy_example("iris.csv", "iris.csv")
        v1 = self.add1("iris.csv")["version"]
        os.remove(self.path("iris.csv.cairn"))
        self.append("iris.csv", "0,0,0,0,0\n")
        res = self.add1("iris.csv")
        self.assertEqual(res["parent"], v1)


class AddNoGit(CairnTestCase):
    use_git = False

    def test_add_without_git(self):
        self.make_dataset_dir("d")
        r = self.ok("add", "d")
        self.assertNotIn("git add", r.stdout)
        self.assertFalse(os.path.exists(self.path(".gitignore")))
        self.assertEqual(self.pointer("d")["kind"], "tree")
        self.fsck_clean()


if __name__ == "__main__":
    unittest.main()
