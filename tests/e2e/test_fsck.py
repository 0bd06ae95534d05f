"""cairn fsck: a clean repository, and each kind of damage it must find."""

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from cairn_testlib import CAIRN_BIN, OK, CairnTestCase, NEGATIVE, deterministic_bytes, missing

PYTHONPATH_DIR = os.path.abspath(
    os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))

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


class FsckDatasetCopies(CairnTestCase):
    """fsck reads every file of every use_dataset copy (.cairn/datasets/<version hex>/) against its version;
    --repair removes a damaged copy and the next use_dataset makes it again."""

    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(PYTHONPATH_DIR, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH_DIR)
        self.env["PYTHONPATH"] = PYTHONPATH_DIR
        self.write("d/a.txt", "alpha\n")
        self.write("d/sub/b.txt", "bravo bravo\n")
        self.v1 = self.add1("d")["version"]
        self.v1_tree = self.pointer("d")["object"]
        self.write("d/a.txt", "ALPHA\n")
        self.add1("d")  # the workspace holds another version: use_dataset makes a copy
        self.hex = self.v1.split(":", 1)[1]
        self.copy = os.path.join(self.cairn_dir, "datasets", self.hex)

    def use_dataset(self):
        """cairn.use_dataset of v1 in a run; returns the path it gave."""
        script = "import cairn\nwith cairn.start_run():\n    print(cairn.use_dataset('d@%s'))\n" % self.hex
        r = subprocess.run([sys.executable, "-c", script], cwd=self.repo, env=self.env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return r.stdout.strip()

    def overwrite_keeping_stat(self, path, data):
        st = os.stat(path)
        self.assertEqual(len(data), st.st_size)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.write(data)
        os.chmod(path, st.st_mode & 0o777)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    def test_intact_copy_is_checked(self):
        self.assertEqual(self.use_dataset(), self.copy)
        r = self.fsck_clean()
        self.assertIn("and 1 use_dataset copy(ies): no problems", r.stdout)
        self.assertEqual(self.json("fsck")["copies_checked"], 1)

    def test_edited_copy_is_reported_then_repaired(self):
        self.use_dataset()
        b = os.path.join(self.copy, "sub", "b.txt")
        # Same size and mtime: use_dataset's stat check would hand this out.
        self.overwrite_keeping_stat(b, b"bravo BRAVO\n")
        before = self.full_snapshot()
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        name = ".cairn/datasets/%s/sub/b.txt" % self.hex
        self.assertIn("damaged copy %s: the use_dataset copy of d@%s is damaged: sub/b.txt has other content"
                      % (name, self.hex[:12]), r.stdout)
        self.assertRegex(r.stdout, r"1 problem\(s\)\n$")
        problems = json.loads(self.cairn("fsck", "--json").stdout)["problems"]
        self.assertEqual([(p["kind"], p["name"]) for p in problems], [("copy", name)])
        self.assert_unchanged(before)  # without --repair nothing changes

        r = self.cairn("fsck", "--repair")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("removed damaged use_dataset copy .cairn/datasets/%s " % self.hex, r.stdout)
        self.assertFalse(os.path.exists(self.copy))
        self.assertEqual(self.use_dataset(), self.copy)
        with open(b, "rb") as f:
            self.assertEqual(f.read(), b"bravo bravo\n")
        self.fsck_clean()

    def test_truncated_and_added_files_are_named(self):
        self.use_dataset()
        os.chmod(os.path.join(self.copy, "a.txt"), 0o644)
        os.truncate(os.path.join(self.copy, "a.txt"), 2)
        os.chmod(self.copy, 0o755)
        with open(os.path.join(self.copy, "extra.txt"), "w") as f:
            f.write("x\n")
        rep = json.loads(self.cairn("fsck", "--json").stdout)
        self.assertFalse(rep["ok"])
        got = {p["name"]: p["message"] for p in rep["problems"] if p["kind"] == "copy"}
        prefix = ".cairn/datasets/%s/" % self.hex
        self.assertEqual(sorted(got), [prefix + "a.txt", prefix + "extra.txt"])
        self.assertIn("a.txt is 2 bytes, the version's file 6 (edited or truncated)", got[prefix + "a.txt"])
        self.assertIn("extra.txt was added", got[prefix + "extra.txt"])
        rep = json.loads(self.cairn("fsck", "--repair", "--json").stdout)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["copies_removed"], [".cairn/datasets/" + self.hex])
        self.use_dataset()
        self.assertEqual(sorted(os.listdir(self.copy)), ["a.txt", "sub"])
        self.fsck_clean()

    def test_copy_that_cannot_be_checked_is_kept(self):
        self.use_dataset()
        before = self.snapshot_copy()
        self.flip_byte(self.loose_path(self.v1_tree), 20)  # the version's file list cannot be read
        r = self.cairn("fsck", "--repair")
        self.assertIn("repair keeps the copy", r.stdout, self.describe(r))
        self.assertNotIn("makes it again", r.stdout)
        self.assertNotIn("removed damaged use_dataset copy", r.stdout)
        self.assertEqual(self.snapshot_copy(), before, "the only complete copy of v1 was changed")

    def outside_dir(self):
        """A read-only (0500) directory outside the repository, holding keep.txt."""
        top = tempfile.mkdtemp(prefix="cairn-outside-")
        d = os.path.join(top, "dir")
        os.makedirs(d)
        with open(os.path.join(d, "keep.txt"), "w") as f:
            f.write("keep\n")
        os.chmod(d, 0o500)

        def cleanup():
            os.chmod(d, 0o700)
            shutil.rmtree(top)
        self.addCleanup(cleanup)
        return d

    def assert_outside_untouched(self, d):
        self.assertEqual(stat.S_IMODE(os.lstat(d).st_mode), 0o500, "the directory outside the repo was chmodded")
        self.assertEqual(os.listdir(d), ["keep.txt"])
        with open(os.path.join(d, "keep.txt")) as f:
            self.assertEqual(f.read(), "keep\n")

    def plant_symlink(self, target):
        os.chmod(self.copy, 0o755)
        os.symlink(target, os.path.join(self.copy, "evil"))
        os.chmod(self.copy, 0o555)

    def test_repair_removes_a_planted_symlink_as_a_link(self):
        out = self.outside_dir()
        self.use_dataset()
        self.plant_symlink(out)
        r = self.cairn("fsck", "--repair")
        self.assertIn("removed damaged use_dataset copy .cairn/datasets/%s " % self.hex, r.stdout, self.describe(r))
        self.assertFalse(os.path.lexists(self.copy))
        self.assert_outside_untouched(out)

    def test_use_dataset_remakes_a_copy_with_a_planted_symlink_without_following_it(self):
        out = self.outside_dir()
        self.use_dataset()
        self.plant_symlink(out)
        self.assertEqual(self.use_dataset(), self.copy)
        self.assertFalse(os.path.lexists(os.path.join(self.copy, "evil")))
        self.assert_outside_untouched(out)

    def crafted_copy(self, age=7200):
        """A copy of v1 made by hand (no run names v1, so gc does not keep it)."""
        os.makedirs(self.copy)
        with open(os.path.join(self.copy, "a.txt"), "w") as f:
            f.write("alpha\n")
        t = time.time() - age
        os.utime(self.copy, (t, t))

    def test_gc_removes_a_copy_with_a_planted_symlink_without_following_it(self):
        out = self.outside_dir()
        self.crafted_copy()
        self.plant_symlink(out)
        t = time.time() - 7200
        os.utime(self.copy, (t, t))
        self.assertEqual(self.json("gc", "--apply", "--grace", "0")["copies_removed"], 1)
        self.assertFalse(os.path.lexists(self.copy))
        self.assert_outside_untouched(out)

    def test_gc_counts_a_symlink_in_a_copy_as_a_link(self):
        out = self.outside_dir()
        big = os.path.join(os.path.dirname(out), "big.bin")
        with open(big, "wb") as f:
            f.write(b"x" * 1000000)
        self.crafted_copy()
        os.chmod(self.copy, 0o755)
        os.symlink(big, os.path.join(self.copy, "big"))
        os.symlink(out, os.path.join(self.copy, "dir"))
        t = time.time() - 7200
        os.utime(self.copy, (t, t))
        rep = self.json("gc", "--grace", "0")
        self.assertEqual(rep["copies_removed"], 1)
        self.assertEqual(rep["copy_bytes_removed"], len("alpha\n") + len(big) + len(out))
        self.assertEqual(os.path.getsize(big), 1000000)
        self.assert_outside_untouched(out)

    def test_gc_removes_a_copy_that_is_a_symlink_as_a_link(self):
        out = self.outside_dir()
        os.makedirs(os.path.dirname(self.copy), exist_ok=True)
        os.symlink(out, self.copy)
        t = time.time() - 7200
        os.utime(self.copy, (t, t), follow_symlinks=False)
        self.json("gc", "--apply", "--grace", "0")
        self.assertFalse(os.path.lexists(self.copy))
        self.assert_outside_untouched(out)

    def test_unreadable_directory_in_a_copy_is_reported_as_such_and_kept(self):
        self.use_dataset()
        before = self.snapshot_copy()
        user = None
        if os.geteuid() == 0:  # root reads a directory of mode 000: run cairn as 'nobody'
            try:
                pw = pwd.getpwnam("nobody")
            except KeyError:
                raise missing("no user 'nobody' to run cairn as without root's rights")
            user = (pw.pw_uid, pw.pw_gid)
            for dirpath, dirnames, filenames in os.walk(self.tmp):
                os.lchown(dirpath, *user)
                for name in filenames:
                    os.lchown(os.path.join(dirpath, name), *user)
        sub = os.path.join(self.copy, "sub")
        os.chmod(sub, 0)
        self.addCleanup(os.chmod, sub, 0o555)

        def fsck(*args):
            kw = {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}
            return subprocess.run([CAIRN_BIN, "fsck", "--json", *args], cwd=self.repo, env=self.env,
                                  capture_output=True, text=True, timeout=120, **kw)
        r = fsck()
        rep = json.loads(r.stdout)
        got = {p["name"]: p["message"] for p in rep["problems"] if p["kind"] == "copy"}
        prefix = ".cairn/datasets/%s/" % self.hex
        self.assertEqual(sorted(got), [prefix + "sub"], rep)
        self.assertIn("sub is a directory that cannot be read", got[prefix + "sub"])
        self.assertNotIn("was removed", r.stdout)
        r = fsck("--repair")
        self.assertEqual(json.loads(r.stdout).get("copies_removed", []), [], self.describe(r))
        os.chmod(sub, 0o555)
        self.assertEqual(self.snapshot_copy(), before, "an intact copy was changed")

    def snapshot_copy(self):
        out = {}
        for top, dirs, files in os.walk(self.copy):
            for f in files:
                with open(os.path.join(top, f), "rb") as fh:
                    out[os.path.relpath(os.path.join(top, f), self.copy)] = fh.read()
        return out


if __name__ == "__main__":
    unittest.main()
