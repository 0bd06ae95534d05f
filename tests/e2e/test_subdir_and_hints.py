"""Commands started in a subdirectory, artifact downloads that cannot fit a
layout, and the hints that name the next step (found when cairn was tried as a
new user and as an adversary would).
"""

import json
import os
import subprocess
import sys
import unittest

from cairn_testlib import CAIRN_BIN, CairnTestCase, missing

PYTHONPATH_DIR = os.path.abspath(
    os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))


class PipelineFromASubdirectoryTest(CairnTestCase):
    """Stage paths are relative to the repository root, wherever a command starts."""

    def setUp(self):
        super().setUp()
        os.mkdir(self.path("sub"))
        self.write("params.yaml", "")
        self.ok("stage", "add", "gen", "--cmd", "mkdir -p out && cat seed.txt > out/x.txt", "-d", "seed.txt",
                "-o", "out")
        self.ok("stage", "add", "use", "--cmd", "cat out/x.txt > y.txt", "-d", "out", "-o", "y.txt")
        self.write("seed.txt", "1\n")
        self.ok("repro")
        self.sub = self.path("sub")

    def test_status_and_dry_run_from_a_subdirectory(self):
        r = self.ok("status", cwd=self.sub)
        self.assertIn("out: clean", r.stdout)
        self.assertNotIn("stale", r.stdout)
        r = self.ok("repro", "-n", cwd=self.sub)
        self.assertIn("stage gen: up-to-date", r.stdout)
        self.assertIn("stage use: up-to-date", r.stdout)
        r = self.ok("-C", "sub", "status")
        self.assertIn("y.txt: clean", r.stdout)

    def test_repro_from_a_subdirectory_runs_and_restores(self):
        self.write("seed.txt", "2\n")
        r = self.ok("repro", cwd=self.sub)
        self.assertIn("stage gen: ran", r.stdout)
        self.assertEqual(self.read("y.txt"), b"2\n")
        self.write("seed.txt", "1\n")  # back to the first input: restored from the run cache
        r = self.ok("repro", cwd=self.sub)
        self.assertIn("stage gen: restored", r.stdout)
        self.assertEqual(self.read("out/x.txt"), b"1\n")
        self.assertEqual(self.read("y.txt"), b"1\n")
        self.assertNotIn("stale", self.ok("status", cwd=self.sub).stdout)


class MissingDependencyHintTest(CairnTestCase):
    """A tracked dependency whose data is absent points at pull or checkout, not repro."""

    def setUp(self):
        super().setUp()
        self.write("params.yaml", "")
        self.write("data/raw.csv", "a,b\n1,2\n")
        self.add("data/raw.csv")
        self.ok("stage", "add", "count", "--cmd", "wc -l < data/raw.csv > n.txt", "-d", "data/raw.csv",
                "-o", "n.txt")
        self.ok("repro")
        os.remove(self.path("data/raw.csv"))

    def test_cached_dependency_hints_checkout(self):
        r = self.ok("status", "--json")
        stage = [s for s in json.loads(r.stdout) if s.get("stage") == "count"][0]
        self.assertNotIn("unfetched", stage)
        self.assertTrue(any("cairn checkout data/raw.csv" in x for x in stage["reasons"]), stage)

    def test_unfetched_dependency_hints_pull(self):
        # A fresh clone has the pointer (from git) but neither the data nor the cache.
        self.write("data/raw.csv", "a,b\n1,2\n")
        self.git("add", "-A")
        self.git("commit", "-qm", "pipeline")
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", self.repo, clone], check=True, env=self.env)
        r = self.ok("status", cwd=clone)
        self.assertIn("data/raw.csv is tracked but its data is not fetched", r.stdout)
        self.assertIn("hint: 'cairn pull'", r.stdout)
        self.assertNotIn("hint: 'cairn repro'", r.stdout)
        stages = [s for s in json.loads(self.ok("status", "--json", cwd=clone).stdout) if s.get("stage") == "count"]
        self.assertEqual(stages[0]["unfetched"], ["data/raw.csv"])
        r = self.fails("repro", "-n", cwd=clone)
        self.assertIn("cairn pull data/raw.csv", r.stderr + r.stdout)


class HintsTest(CairnTestCase):

    def test_unknown_command_suggests_the_nearest(self):
        self.fails("stauts", msg="unknown command 'stauts'", hint="did you mean 'cairn status'?")
        self.fails("zzzzzzzz", msg="unknown command", hint="cairn --help")

    def test_mistyped_subcommands_and_options_get_a_suggestion(self):
        self.fails("runs", "shwo", "3f2a9c", msg="unknown command 'shwo' for 'cairn runs'",
                   hint="did you mean 'cairn runs show'?")
        self.fails("runs", "comapre", "a", "b", msg="unknown command 'comapre'", hint="'cairn runs compare'")
        self.fails("experiments", "lsit", msg="unknown command 'lsit' for 'cairn experiments'",
                   hint="did you mean 'cairn experiments list'?")
        self.fails("runs", "--limt", "5", msg="unknown option '--limt' for 'cairn runs'",
                   hint="did you mean '--limit'?")
        self.fails("runs", "show", "3f2a9c", "--jsno", msg="unknown option '--jsno' for 'cairn runs show'",
                   hint="did you mean '--json'?")
        # Nothing near: the plain error.
        r = self.fails("runs", "zzzzzzzz", msg="not expected")
        self.assertNotIn("did you mean", r.stderr)

    def test_unknown_tag_names_fetch(self):
        self.write("d/f.txt", "x\n")
        self.add("d")
        self.ok("tag", "d", "v1")
        self.fails("checkout", "d@v9", msg="has no tag 'v9'", hint="cairn fetch d@v9")
        self.fails("show", "d~3", msg="goes back 3 versions", hint="cairn log d")
        self.fails("show", "d~1", msg="goes back 1 version,", hint="cairn log d")

    def test_lineage_json_flag_is_format_json(self):
        self.write("d/f.txt", "x\n")
        self.add("d")
        a = json.loads(self.ok("lineage", "d", "--json").stdout)
        b = json.loads(self.ok("lineage", "d", "--format", "json").stdout)
        self.assertEqual(a, b)
        self.assertEqual(a["direction"], "up")


class ArtifactDownloadLayoutTest(CairnTestCase):
    """A download writes everything or nothing, and never takes a user's file for its temp file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.isdir(os.path.join(PYTHONPATH_DIR, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH_DIR)

    def python(self, code):
        env = dict(self.env, PYTHONPATH=PYTHONPATH_DIR)
        r = subprocess.run([sys.executable, "-c", code], cwd=self.repo, env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_user_file_named_like_a_temp_file_survives(self):
        run = self.python("import cairn\nwith cairn.start_run(name='t') as r:\n"
                          "    cairn.log_text('model', 'm.txt')\nprint(r.info.run_id)")
        out = os.path.join(self.tmp, "out")
        os.mkdir(out)
        for name in ("m.txt.cairn-tmp", ".m.txt.cairn-tmp"):
            with open(os.path.join(out, name), "w") as f:
                f.write("precious")
        self.ok("artifacts", "get", run, "m.txt", "-o", os.path.join(out, "m.txt"))
        with open(os.path.join(out, "m.txt")) as f:
            self.assertEqual(f.read(), "model")
        for name in ("m.txt.cairn-tmp", ".m.txt.cairn-tmp"):
            with open(os.path.join(out, name)) as f:
                self.assertEqual(f.read(), "precious")
        self.assertEqual(sorted(os.listdir(out)), [".m.txt.cairn-tmp", "m.txt", "m.txt.cairn-tmp"])

    def test_a_file_in_the_way_of_a_directory_writes_nothing(self):
        run = self.python("import cairn\nwith cairn.start_run(name='t') as r:\n"
                          "    cairn.log_text('1', 'zz/a/b'); cairn.log_text('2', 'zz/c')\nprint(r.info.run_id)")
        dest = os.path.join(self.tmp, "dl")
        os.mkdir(dest)
        with open(os.path.join(dest, "a"), "w") as f:
            f.write("mine")
        self.fails("artifacts", "get", run, "zz", "-o", dest, "--force", msg="is a file, not a directory")
        self.assertEqual(sorted(os.listdir(dest)), ["a"])  # zz/c was not written either
        with open(os.path.join(dest, "a")) as f:
            self.assertEqual(f.read(), "mine")

    def test_a_file_and_a_directory_of_one_name_write_nothing(self):
        run = self.python("import cairn\nwith cairn.start_run(name='t') as r:\n"
                          "    cairn.log_text('1', 'zz/a'); cairn.log_text('2', 'zz/a/b'); cairn.log_text('3', 'zz/c')\n"
                          "print(r.info.run_id)")
        dest = os.path.join(self.tmp, "dl")
        self.fails("artifacts", "get", run, "zz", "-o", dest, msg="has artifacts zz/a and zz/a/b")
        self.assertFalse(os.path.exists(dest) and os.listdir(dest))


class UntrackedFilesInTheDiffTest(CairnTestCase):
    """Untracked code is kept with a run's diff; secrets and data files are only named."""

    def test_secrets_and_big_files_are_named_not_copied(self):
        self.write("README", "x\n")
        self.commit("README")
        self.write("train.py", "print('hello')\n")
        self.write(".env", "API_TOKEN=s3cr3t\n")
        self.write("conf/db_password.txt", "hunter2\n")
        self.write("big.csv", b"1,2\n" * (300 * 1024))  # 1.2 MiB
        r = self.ok("run", "-n", "dirty", "--", "true")
        d = self.json("runs", "show", "dirty")
        self.assertEqual(d["env"]["git.dirty"], "true")
        diff = self.ok("artifacts", "get", "dirty", "cairn/git.diff", "-o", "-").stdout
        self.assertIn("+print('hello')", diff)
        self.assertNotIn("s3cr3t", diff)
        self.assertNotIn("hunter2", diff)
        self.assertNotIn("1,2", diff)
        self.assertIn("named like secrets", diff)
        self.assertIn("#   .env\n", diff)
        self.assertIn("#   conf/db_password.txt\n", diff)
        self.assertIn("over 1 MiB", diff)
        self.assertIn("#   big.csv\n", diff)
        self.assertLess(len(diff), 64 * 1024)


if __name__ == "__main__":
    unittest.main()
