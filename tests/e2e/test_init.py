"""cairn init, and commands run where there is no repository."""

import os
import unittest

from cairn_testlib import CairnTestCase, OK


class InitInGit(CairnTestCase):
    init_cairn = False

    def test_init_creates_layout(self):
        r = self.ok("init")
        self.assertIn("Initialised cairn repository in " + os.path.join(self.repo, ".cairn"), r.stdout)
        self.assertIn("Commit .cairn/config", r.stdout)
        self.assertTrue(os.path.isfile(self.path(".cairn/config")))
        with open(self.path(".cairn/config")) as f:
            self.assertIn("format = 1", f.read())
        with open(self.path(".cairn/.gitignore")) as f:
            ignored = f.read().splitlines()
        for line in ("/*", "!/config", "!/.gitignore"):
            self.assertIn(line, ignored)
        # git sees only the shareable files, whatever cairn adds under .cairn/
        # later (caches of remotes, config.local with credentials, datasets/).
        for extra in ("remotes/origin/x.idx", "config.local", "datasets/ab/file", "state.db-wal"):
            path = self.path(".cairn/" + extra)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("x")
        self.git("add", "-A")
        staged = self.git("diff", "--cached", "--name-only").stdout.split()
        self.assertEqual(sorted(staged), [".cairn/.gitignore", ".cairn/config"])

    def test_old_ignore_list_is_upgraded(self):
        self.ok("init")
        with open(self.path(".cairn/.gitignore"), "w") as f:
            f.write("/cache/\n/refs/\n/tmp/\n/state.db\n")  # what older versions wrote
        self.ok("status")
        with open(self.path(".cairn/.gitignore")) as f:
            self.assertIn("!/config", f.read().splitlines())

    def test_init_twice_is_harmless(self):
        self.ok("init")
        with open(self.path(".cairn/config"), "rb") as f:
            config = f.read()
        self.copy_example("iris.csv", "iris.csv")
        self.ok("add", "iris.csv")
        before = self.full_snapshot()
        r = self.ok("init")
        self.assertIn("already initialised", r.stdout)
        with open(self.path(".cairn/config"), "rb") as f:
            self.assertEqual(f.read(), config)
        self.assert_unchanged(before)
        self.ok("status")

    def test_init_in_subdirectory_uses_top_of_work_tree(self):
        os.makedirs(self.path("a/b"))
        self.ok("init", cwd=self.path("a/b"))
        self.assertTrue(os.path.isfile(self.path(".cairn/config")))
        self.assertFalse(os.path.exists(self.path("a/b/.cairn")))

    def test_dash_C(self):
        os.makedirs(self.path("sub"))
        self.ok("-C", self.repo, "init", cwd=self.tmp)
        self.assertTrue(os.path.isfile(self.path(".cairn/config")))
        self.copy_example("iris.csv", "sub/iris.csv")
        # -C makes relative paths relative to DIR.
        self.ok("-C", self.path("sub"), "add", "iris.csv", cwd=self.tmp)
        self.assertTrue(os.path.isfile(self.path("sub/iris.csv.cairn")))
        self.assertEqual(self.pointer("sub/iris.csv")["dataset"], "sub/iris.csv")

    def test_dash_C_missing_directory(self):
        self.fails("-C", self.path("nope"), "status", msg="cannot change to directory")


class InitOutsideGit(CairnTestCase):
    use_git = False
    init_cairn = False

    def test_init_outside_git_needs_no_git(self):
        r = self.fails("init", msg="is not inside a git work tree", hint="--no-git")
        self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(self.path(".cairn")))

    def test_init_no_git(self):
        r = self.ok("init", "--no-git")
        self.assertIn("Initialised cairn repository", r.stdout)
        self.assertNotIn("Commit .cairn/config", r.stdout)
        self.assertTrue(os.path.isfile(self.path(".cairn/config")))
        self.copy_example("iris.csv", "data/iris.csv")
        r = self.ok("add", "data/iris.csv")
        self.assertIn("added data/iris.csv", r.stdout)
        self.assertNotIn("git add", r.stdout)
        self.assertTrue(os.path.isfile(self.path("data/iris.csv.cairn")))
        # Without git, no .gitignore is written.
        self.assertFalse(os.path.exists(self.path("data/.gitignore")))
        self.assertEqual(self.status()["data/iris.csv"]["state"], "clean")
        self.fsck_clean()
        # And gc works without git history.
        self.ok("gc", "--apply")
        self.fsck_clean()

    def test_commands_outside_a_repository(self):
        for args in (["status"], ["add", "x"], ["checkout"], ["log", "x"], ["diff", "x"], ["ls", "x"],
                     ["show", "x"], ["tag", "--list"], ["gc"], ["fsck"]):
            with self.subTest(args=args):
                r = self.fails(*args, msg="not a cairn repository", hint="cairn init")
                self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(self.path(".cairn")))

    def test_usage_errors(self):
        self.ok("init", "--no-git")
        r = self.fails("frobnicate")
        self.assertIn("hint: run 'cairn --help'", r.stderr)
        self.fails()  # a subcommand is required
        self.fails("add")  # PATH is required
        self.fails("checkout", "--link", "reflink")
        self.fails("gc", "--keep-days", "-3")

    def test_version_and_help(self):
        r = self.cairn("--version")
        self.assertEqual(r.returncode, OK)
        self.assertIn("cairn", r.stdout)
        r = self.cairn("--help")
        self.assertEqual(r.returncode, OK)
        for cmd in ("init", "add", "status", "checkout", "log", "diff", "ls", "show", "tag", "gc", "fsck"):
            self.assertIn(cmd, r.stdout)


if __name__ == "__main__":
    unittest.main()
