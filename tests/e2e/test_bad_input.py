"""Bad input: every case exits 2 with a clear message and changes nothing."""

import os
import unittest

from cairn_testlib import CairnTestCase, NEGATIVE, deterministic_bytes


class BadPaths(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.copy_example("iris.csv", "data/iris.csv")
        self.add1("data/iris.csv")
        self.outside = os.path.join(self.tmp, "outside")
        os.makedirs(self.outside)
        with open(os.path.join(self.outside, "secret.txt"), "w") as f:
            f.write("not yours\n")

    def check_refused(self, *args, msg, hint=None, cwd=None):
        before = self.full_snapshot()
        r = self.fails(*args, msg=msg, hint=hint, cwd=cwd)
        self.assertEqual(r.stdout, "")
        self.assert_unchanged(before)
        return r

    def test_path_outside_repository(self):
        self.check_refused("add", os.path.join(self.outside, "secret.txt"), msg="is outside the repository")
        self.check_refused("add", "../outside/secret.txt", msg="is outside the repository")
        self.check_refused("add", "../../outside", cwd=self.path("data"), msg="is outside the repository")
        self.check_refused("status", "../outside/secret.txt", msg="is outside the repository")
        self.check_refused("checkout", "../outside", msg="is outside the repository")
        self.assertFalse(os.path.exists(os.path.join(self.outside, "secret.txt.cairn")))

    def test_path_through_symlink_leaving_repository(self):
        os.symlink(self.outside, self.path("escape"))
        self.check_refused("add", "escape/secret.txt", msg="leaves the repository through a symlink",
                           hint="track the symlink's target")
        self.check_refused("add", "escape", msg="leaves the repository through a symlink")
        os.symlink(os.path.join(self.outside, "secret.txt"), self.path("data/link.txt"))
        self.check_refused("add", "data/link.txt", msg="leaves the repository through a symlink")
        self.assertFalse(os.path.exists(os.path.join(self.outside, "secret.txt.cairn")))
        self.assertFalse(os.path.exists(os.path.join(self.outside, ".gitignore")))

    def test_symlink_inside_tracked_directory_leading_out(self):
        self.copy_example("wine_data.csv", "d/wine.csv")
        os.symlink(os.path.join(self.outside, "secret.txt"), self.path("d/secret.txt"))
        self.check_refused("add", "d", msg="is a symlink that does not lead to a regular file inside the repository")
        self.assertFalse(os.path.exists(self.path("d.cairn")))

    def test_cairn_and_git_directories(self):
        for p in (".git", ".git/config", ".cairn", ".cairn/config", ".cairn/cache", "./.cairn/../.git"):
            with self.subTest(path=p):
                self.check_refused("add", p, msg="which cairn manages itself")
        self.check_refused("add", "../.cairn/cache", cwd=self.path("data"), msg="which cairn manages itself")

    def test_repository_root(self):
        self.check_refused("add", ".", msg="cannot track the repository root itself")
        self.check_refused("add", self.repo, msg="cannot track the repository root itself")

    def test_nonexistent_path(self):
        r = self.check_refused("add", "data/nope.csv", msg="data/nope.csv: no such file or directory")
        self.assertFalse(os.path.exists(self.path("data/nope.csv.cairn")))

    def test_one_bad_path_among_good_ones_writes_no_pointer(self):
        self.copy_example("wine_data.csv", "wine.csv")
        self.write("big.bin", deterministic_bytes(300 * 1024))
        ws = self.workspace_snapshot()
        refs_before = self.tree_snapshot(os.path.join(self.cairn_dir, "refs"))
        self.fails("add", "wine.csv", "big.bin", "missing.csv", msg="missing.csv: no such file or directory")
        self.assertEqual(self.workspace_snapshot(), ws)
        self.assertEqual(self.tree_snapshot(os.path.join(self.cairn_dir, "refs")), refs_before)
        self.assertFalse(os.path.exists(self.path("wine.csv.cairn")))
        self.assertFalse(os.path.exists(self.path("big.bin.cairn")))
        self.assertEqual(self.tmp_leftovers(), [])
        self.fsck_clean()

    def test_control_characters_in_file_names(self):
        self.copy_example("wine_data.csv", "d/wine.csv")
        self.write("d/bad\nname.csv", "x\n")
        self.check_refused("add", "d", msg="control characters")
        self.assertFalse(os.path.exists(self.path("d.cairn")))

    def test_special_files(self):
        os.mkfifo(self.path("fifo"))
        self.check_refused("add", "fifo", msg="is not a regular file")
        os.makedirs(self.path("d"))
        self.copy_example("wine_data.csv", "d/wine.csv")
        os.mkfifo(self.path("d/pipe"))
        self.check_refused("add", "d", msg="is not a regular file (socket, device or FIFO)", hint="move it out")


class DamagedPointers(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.copy_example("iris.csv", "data/iris.csv")
        self.copy_example("wine_data.csv", "data/wine.csv")
        self.add("data/iris.csv", "data/wine.csv")
        with open(self.path("data/iris.csv.cairn")) as f:
            self.good = f.read()

    def damage(self, text):
        with open(self.path("data/iris.csv.cairn"), "w") as f:
            f.write(text)

    def check_every_command_refuses(self, msg, hint=None):
        """status/checkout/add/show on the damaged pointer: exit 2, nothing changed."""
        self.append("data/iris.csv", "1,1,1,1,1\n")  # so add and checkout would have work to do
        before = self.full_snapshot()
        for args in (["status"], ["status", "data/iris.csv"], ["checkout"], ["checkout", "--force"],
                     ["add", "data/iris.csv"], ["show", "data/iris.csv"], ["log", "data/iris.csv"],
                     ["diff", "data/iris.csv"], ["gc", "--apply"]):
            with self.subTest(args=args):
                r = self.fails(*args, msg=["data/iris.csv.cairn", msg], hint=hint)
                self.assertEqual(r.stdout, "")
        self.assert_unchanged(before)
        # fsck reports it as damage (exit 1) rather than failing.
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("damaged pointer", r.stdout)
        self.assert_unchanged(before)

    def test_dataset_escaping_the_repository(self):
        self.damage(self.good.replace("dataset data/iris.csv\n", "dataset ../evil\n"))
        self.check_every_command_refuses("points outside the repository",
                                         hint="git checkout -- data/iris.csv.cairn")
        for root, dirs, files in os.walk(self.tmp):
            for n in dirs + files:
                self.assertNotIn("evil", n, os.path.join(root, n))

    def test_absolute_dataset(self):
        self.damage(self.good.replace("dataset data/iris.csv\n", "dataset /etc/passwd\n"))
        self.check_every_command_refuses("must be relative")

    def test_truncated_mid_line(self):
        self.damage(self.good[:len(self.good) - 20])
        self.check_every_command_refuses("pointer file is truncated")

    def test_truncated_at_line_boundary(self):
        lines = self.good.splitlines(keepends=True)
        self.damage("".join(lines[:4]))
        self.check_every_command_refuses("pointer file is truncated (missing fields)")

    def test_empty_pointer(self):
        self.damage("")
        self.check_every_command_refuses("not a cairn pointer file")

    def test_unknown_format(self):
        self.damage(self.good.replace("format 1\n", "format 99\n"))
        self.check_every_command_refuses("unknown pointer format version 99", hint="upgrade cairn")

    def test_bad_oid(self):
        self.damage(self.good.replace("version sha256:", "version sha256:zz"))
        self.check_every_command_refuses("bad version oid")


class BadRefsAndTags(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.copy_example("iris.csv", "iris.csv")
        self.add1("iris.csv")
        self.ok("tag", "iris.csv", "v1", "--golden")

    def test_unknown_ref(self):
        before = self.full_snapshot()
        for args in (["show", "nope"], ["log", "iris.csv@nope"], ["ls", "nope~1"], ["diff", "iris.csv", "nope"],
                     ["tag", "nope", "t1"], ["tag", "iris.csv@nope", "t1"]):
            with self.subTest(args=args):
                r = self.fails(*args, msg="nope")
                self.assertEqual(r.stdout, "")
                self.assertIn("hint: ", r.stderr)
        self.assert_unchanged(before)

    def test_existing_tag(self):
        before = self.full_snapshot()
        self.fails("tag", "iris.csv", "v1", msg="already exists", hint="immutable")
        self.assert_unchanged(before)

    def test_golden_tag_delete(self):
        before = self.full_snapshot()
        self.fails("tag", "--delete", "iris.csv@v1", msg="is golden and cannot be deleted")
        self.assert_unchanged(before)


class NotInitialised(CairnTestCase):
    init_cairn = False

    def test_git_repo_without_cairn_init(self):
        self.copy_example("iris.csv", "iris.csv")
        before = self.workspace_snapshot()
        for args in (["add", "iris.csv"], ["status"], ["checkout"], ["show", "iris.csv"], ["gc", "--apply"],
                     ["fsck"], ["tag", "iris.csv", "v1"]):
            with self.subTest(args=args):
                self.fails(*args, msg="not a cairn repository", hint="cairn init")
        self.assertEqual(self.workspace_snapshot(), before)
        self.assertFalse(os.path.exists(self.path(".cairn")))


if __name__ == "__main__":
    unittest.main()
