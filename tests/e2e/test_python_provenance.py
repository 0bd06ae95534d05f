"""Which code a Python run says ran (doc/mlflow.md, "Provenance"): the git
commit, dirty flag and diff of the git repository holding the main script,
never those of the repository the run is recorded in (set_tracking_uri), and
workspace dataset inputs only when the script lives in that repository.
Real git, real Python child processes.
"""

import os
import re
import subprocess
import unittest

from test_python_api import PRELUDE, PYTHON, PythonApiTestCase

WORKSPACE_TAG = "cairn.workspace_inputs"


class CodeProvenance(PythonApiTestCase):
    """self.repo is the tracking repository B (git, with its own commit and a
    tracked dataset); self.code is another git repository A holding the script."""

    def setUp(self):
        super().setUp()
        self.write("data.csv", "x\n1\n")
        self.add1("data.csv")
        self.write("README", "the tracking repository\n")
        self.y = self.commit(message="B")
        self.code = os.path.join(self.tmp, "code")
        os.mkdir(self.code)
        self.git_in(self.code, "init", "-q", "-b", "main")
        self.git_in(self.code, "config", "user.name", "Test User")
        self.git_in(self.code, "config", "user.email", "test@example.com")
        self.git_in(self.code, "config", "commit.gpgsign", "false")

    def git_in(self, where, *args):
        r = subprocess.run(["git"] + list(args), cwd=where, env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return r.stdout.strip()

    def put_script(self, directory, body, name="train.py"):
        """A script at directory/name logging to the repository B (by path)."""
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(PRELUDE + "cairn.set_tracking_uri(%r)\n" % self.repo + body)
        return path

    def run_script(self, path, cwd):
        r = subprocess.run([PYTHON, path], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return self.show(self.result(r)["id"])  # from B, by the CLI

    BODY = """
with cairn.start_run() as run:
    cairn.log_metric("acc", 0.9)
out({"id": run.id})
"""

    def test_script_in_another_git_repository_records_its_commit_and_dirty_state(self):
        script = self.put_script(self.code, self.BODY)
        self.git_in(self.code, "add", "train.py")
        self.git_in(self.code, "commit", "-q", "-m", "A")
        x = self.git_in(self.code, "rev-parse", "HEAD")
        self.assertNotEqual(x, self.y)
        for cwd in (self.code, self.repo):  # the script decides, not the working directory
            run = self.run_script(script, cwd)
            self.assertEqual(run["env"].get("git.commit"), x, "the commit of the code that ran, not B's")
            self.assertEqual(run["env"].get("git.dirty"), "false")
            self.assertNotIn("cairn/git.diff", [a["path"] for a in run["artifacts"]])
            # B's checked-out data is not what this code read.
            self.assertEqual(run["inputs"], [])
            self.assertIn(self.code, run["tags"].get(WORKSPACE_TAG, ""))

        with open(script, "a") as f:
            f.write("# tuned\n")
        self.write("README", "B changed too\n")  # B's state must not leak into the run
        run = self.run_script(script, self.code)
        self.assertEqual(run["env"].get("git.commit"), x)
        self.assertEqual(run["env"].get("git.dirty"), "true")
        r = self.cairn("artifacts", "get", run["id"], "cairn/git.diff", "-o", "-")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("+# tuned", r.stdout)
        self.assertNotIn("B changed too", r.stdout)

    def test_client_create_run_records_the_scripts_commit(self):
        script = self.put_script(self.code, """
client = cairn.MlflowClient(tracking_uri=%r)
run = client.create_run("0")
client.set_terminated(run.info.run_id)
out({"id": run.info.run_id})
""" % self.repo)
        self.git_in(self.code, "add", "train.py")
        self.git_in(self.code, "commit", "-q", "-m", "A")
        run = self.run_script(script, self.code)
        self.assertEqual(run["env"].get("git.commit"), self.git_in(self.code, "rev-parse", "HEAD"))

    def test_script_outside_any_git_repository_records_no_commit(self):
        script = self.put_script(self.scripts, self.BODY)  # tmp/scripts: in no git repository
        for cwd in (self.scripts, self.repo):
            run = self.run_script(script, cwd)
            for key in ("git.commit", "git.dirty", "git.branch"):
                self.assertNotIn(key, run["env"], "B's git state is not the script's")
            self.assertEqual(run["inputs"], [])
            self.assertIn(WORKSPACE_TAG, run["tags"])

    def test_script_in_another_cairn_repository_records_none_of_its_inputs(self):
        r = self.cairn("init", cwd=self.code)
        self.assertEqual(r.returncode, 0, self.describe(r))
        with open(os.path.join(self.code, "a.csv"), "w") as f:
            f.write("a\n")
        r = self.cairn("add", "a.csv", cwd=self.code)
        self.assertEqual(r.returncode, 0, self.describe(r))
        script = self.put_script(self.code, self.BODY)
        run = self.run_script(script, self.code)
        self.assertEqual(run["inputs"], [], "neither B's nor A's versions are recorded as B's inputs")
        self.assertIn(self.code, run["tags"].get(WORKSPACE_TAG, ""))

    def test_script_inside_the_tracking_repository_records_its_commit_and_inputs(self):
        os.makedirs(self.path("src"))
        path = self.put_script(self.path("src"), self.BODY)
        head = self.commit(message="script")
        run = self.run_script(path, self.tmp)  # from anywhere
        self.assertEqual(run["env"].get("git.commit"), head)
        self.assertEqual(run["env"].get("git.dirty"), "false")
        self.assertEqual([i["source"] for i in run["inputs"]], ["workspace"])
        self.assertNotIn(WORKSPACE_TAG, run["tags"])

    def test_python_c_uses_the_working_directory(self):
        body = PRELUDE + "cairn.set_tracking_uri(%r)\n" % self.repo + self.BODY
        for cwd, commit in ((self.repo, self.y), (self.scripts, None)):
            r = subprocess.run([PYTHON, "-c", body], cwd=cwd, env=self.env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, self.describe(r))
            run = self.show(self.result(r)["id"])
            self.assertEqual(run["env"].get("git.commit"), commit, cwd)


class CommandAndWorkingDirectory(PythonApiTestCase):
    """A Python run records its command line and working directory as
    'cairn run' does: shell-quoted, the cwd relative to the repository root."""

    BODY = CodeProvenance.BODY
    put_script = CodeProvenance.put_script

    def test_start_run_records_the_command_line_and_cwd_as_cairn_run_does(self):
        script = self.put_script(self.scripts, self.BODY)
        os.makedirs(self.path("sub"))
        for cwd, rel in ((self.repo, "."), (self.path("sub"), "sub")):
            r = subprocess.run([PYTHON, script, "--lr", "0.1", "two words"], cwd=cwd, env=self.env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, self.describe(r))
            run = self.show(self.result(r)["id"])
            self.assertEqual(run["command"], "%s %s --lr 0.1 'two words'" % (PYTHON, script))
            self.assertEqual(run["cwd"], rel)
        # 'cairn run' records the same for the same command line.
        r = self.cairn("run", "--", PYTHON, "-c", "pass", cwd=self.path("sub"))
        self.assertEqual(r.returncode, 0, self.describe(r))
        cli = self.show(re.search(r"run ([0-9a-f]{32}) started", r.stderr).group(1))
        self.assertEqual(cli["command"], "%s -c pass" % PYTHON)
        self.assertEqual(cli["cwd"], "sub")

    def test_python_c_records_a_placeholder_for_the_code(self):
        body = PRELUDE + "cairn.set_tracking_uri(%r)\n" % self.repo + self.BODY
        r = subprocess.run([PYTHON, "-c", body, "a b"], cwd=self.repo, env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        run = self.show(self.result(r)["id"])
        self.assertEqual(run["command"], "%s -c <code> 'a b'" % PYTHON)
        self.assertEqual(run["cwd"], ".")

    def test_client_create_run_records_the_command_line_and_cwd(self):
        script = self.put_script(self.scripts, """
client = cairn.MlflowClient()
run = client.create_run("0")
client.set_terminated(run.info.run_id)
out({"id": run.info.run_id})
""")
        os.makedirs(self.path("sub"))
        r = subprocess.run([PYTHON, script, "x"], cwd=self.path("sub"), env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        run = self.show(self.result(r)["id"])
        self.assertEqual(run["command"], "%s %s x" % (PYTHON, script))
        self.assertEqual(run["cwd"], "sub")


if __name__ == "__main__":
    unittest.main()
