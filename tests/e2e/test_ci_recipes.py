"""The CI recipes (examples/ci/github-actions.yml, examples/ci/gitlab-ci.yml)
run as written, so they cannot rot.

The YAML of each recipe is parsed and the shell of its jobs is run step by
step, the way the CI service would, in a fresh clone (the "CI machine") of a
small project: the retrieval example with both datasets tagged v3, a
directory remote and a bare git origin. The install step is skipped (the
test's cairn is on PATH) and the PR comment / MR note clients (gh, curl) are
stubs that keep what they were asked to post. Checked: a gate that passes
leaves the job green and the report says PASS; a gate that fails fails the
job, after the comment and the JUnit report were still written; a merge
promotes the new version, and a second clone sees it in `cairn model
history` after pulling.

Under CI=true a missing PyYAML or cairn fails instead of skipping.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET

from cairn_testlib import CAIRN_BIN, CairnTestCase, missing

try:
    import yaml
except ImportError:  # checked in setUp (a skip, or under CI=true a failure)
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
RECIPES = os.path.join(ROOT, "examples", "ci")
RETRIEVAL = os.path.join(ROOT, "examples", "retrieval")

# chunk_size, top_k -> mrr on the example data (examples/retrieval/README.md).
BASELINE = (16, 3)   # 0.755: production after the first merge
BETTER = (64, 10)    # 0.764: passes "better than production"
WORSE = (4, 1)       # 0.594: fails mrr >= 0.70 and "better than production"

# Stubs for the clients that talk to the CI service: they keep the body they
# would post in $STUB_LOG (gh: --body-file F; curl: --data-urlencode body@F).
GH_STUB = """#!/bin/sh
echo "gh $*" >> "$STUB_LOG/calls"
while [ $# -gt 0 ]; do
  if [ "$1" = --body-file ]; then cp "$2" "$STUB_LOG/comment.md"; fi
  shift
done
"""
CURL_STUB = """#!/bin/sh
echo "curl $*" >> "$STUB_LOG/calls"
for a in "$@"; do
  case "$a" in body@*) cp "${a#body@}" "$STUB_LOG/note.md" ;; esac
done
"""


class CiRecipes(CairnTestCase):

    def setUp(self):
        if yaml is None:
            raise missing("PyYAML is not installed (python3 -c 'import yaml')")
        super().setUp()
        self.stub_log = os.path.join(self.tmp, "stub-log")
        self.stub_bin = os.path.join(self.tmp, "stub-bin")
        os.makedirs(self.stub_log)
        os.makedirs(self.stub_bin)
        for name, text in (("gh", GH_STUB), ("curl", CURL_STUB)):
            path = os.path.join(self.stub_bin, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        # The CI machine finds `cairn` on PATH (the recipes' install step is skipped).
        os.symlink(CAIRN_BIN, os.path.join(self.stub_bin, "cairn"))
        self.make_project()

    # ---- the project and its origin -------------------------------------------------

    def set_params(self, repo, setting):
        with open(os.path.join(repo, "params.yaml"), "w") as f:
            f.write("retrieve:\n  chunk_size: %d\n  top_k: %d\n" % setting)

    def make_project(self):
        """The retrieval example in self.repo, datasets corpus@v3 and eval@v3 pushed to a
        directory remote, committed and cloned bare as the git origin."""
        repo = self.repo
        for name in ("retrieve.py", "cairn.yaml"):
            shutil.copy(os.path.join(RETRIEVAL, name), repo)
        os.makedirs(os.path.join(repo, "data"))
        for name in ("corpus", "eval"):
            shutil.copy(os.path.join(RETRIEVAL, "data", name + ".jsonl"), os.path.join(repo, "data"))
            self.ok("add", "data/%s.jsonl" % name, "--name", name, "-m", name + " v3")
            self.ok("tag", name, "v3")
        self.set_params(repo, BASELINE)
        with open(os.path.join(repo, ".gitignore"), "w") as f:
            f.write("metrics.json\ngate.md\ngate-junit.xml\n")
        self.remote = os.path.join(self.tmp, "remote")
        self.ok("remote", "add", "origin", self.remote, "--default")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "retrieval project")
        self.ok("push")
        self.origin = os.path.join(self.tmp, "origin.git")
        self.git("clone", "-q", "--bare", repo, self.origin)
        self.git("remote", "add", "origin", self.origin)
        self.git("fetch", "-q", "origin")

    def branch(self, name, setting):
        """A branch with other params, pushed to the git origin (a pull request's head)."""
        self.git("checkout", "-q", "-b", name, "origin/main")
        self.set_params(self.repo, setting)
        self.git("commit", "-q", "-am", "params %d/%d" % setting)
        self.git("push", "-q", "origin", name)
        sha = self.git("rev-parse", "HEAD").stdout.strip()
        self.git("checkout", "-q", "main")
        return sha

    def merge(self, name):
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--ff-only", "origin/" + name)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD").stdout.strip()

    def ci_clone(self, ref, name):
        """A fresh clone of the origin at `ref`: the CI machine's checkout step."""
        path = os.path.join(self.tmp, name)
        subprocess.run(["git", "clone", "-q", self.origin, path], check=True, env=self.env)
        subprocess.run(["git", "checkout", "-q", ref], cwd=path, check=True, env=self.env)
        return path

    # ---- running recipes --------------------------------------------------------------

    def shell(self, script, cwd, env, name):
        path = os.path.join(self.tmp, "step-%s.sh" % re.sub(r"[^A-Za-z0-9]+", "-", name))
        with open(path, "w") as f:
            f.write(script)
        full = dict(self.env)
        full.update(env)
        full["PATH"] = self.stub_bin + os.pathsep + self.env["PATH"]
        full["STUB_LOG"] = self.stub_log
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", path], cwd=cwd, env=full,
                           capture_output=True, text=True, timeout=300)
        self.log.append("== %s (exit %d)\n%s%s" % (name, p.returncode, p.stdout, p.stderr))
        return p.returncode

    def github_job(self, job_name, clone, context):
        """Runs the job's `run:` steps like GitHub Actions: bash -eo pipefail per step, env from
        the workflow, job and step (expressions looked up in `context`), $GITHUB_ENV carried to
        later steps, a failed step skips the rest except `if: always()` ones. Returns
        [(step name, exit code)] of the steps run and whether the job failed."""
        with open(os.path.join(RECIPES, "github-actions.yml")) as f:
            doc = yaml.safe_load(f)
        on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
        self.assertIn("pull_request", on)
        self.assertIn("push", on)
        job = doc["jobs"][job_name]

        def expand(value):
            def one(m):
                expr = m.group(1).strip()
                if expr.startswith("secrets.") or expr.startswith("vars."):
                    return ""
                self.assertIn(expr, context, "an expression the test does not know: " + expr)
                return context[expr]
            return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))

        env = {k: expand(v) for k, v in {**doc.get("env", {}), **job.get("env", {})}.items()}
        github_env = os.path.join(self.tmp, "github-env-" + job_name)
        open(github_env, "w").close()
        env["GITHUB_ENV"] = github_env
        env["GITHUB_PATH"] = os.path.join(self.tmp, "github-path")
        ran, failed = [], False
        steps = job["steps"]
        self.assertTrue(steps[0]["uses"].startswith("actions/checkout@"))  # the clone the test made
        for step in steps:
            if "run" not in step or step.get("id") == "install-cairn":
                continue
            self.assertNotIn("${{", step["run"], "expressions belong in env:, not in the shell")
            cond = str(step.get("if", ""))
            if failed and "always()" not in cond and "failure()" not in cond:
                continue
            with open(github_env) as f:
                carried = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
            step_env = {**env, **carried, **{k: expand(v) for k, v in step.get("env", {}).items()}}
            rc = self.shell(step["run"], clone, step_env, step.get("name", "step"))
            ran.append((step.get("name"), rc))
            failed = failed or rc != 0
        return ran, failed

    def gitlab_job(self, job_name, clone, variables):
        """Runs the job like a GitLab runner: its before_script (from `extends`, the install
        lines skipped) and script as one bash -eo pipefail shell. Returns the exit code."""
        with open(os.path.join(RECIPES, "gitlab-ci.yml")) as f:
            doc = yaml.safe_load(f)
        job = doc[job_name]
        base = doc[job["extends"]] if "extends" in job else {}
        install = [line for line in base.get("before_script", []) if "cairn-install" in line or "apt-get" in line]
        self.assertEqual(len(install), 3, "the install lines of .cairn changed: update the test")
        before = [line for line in base.get("before_script", []) if line not in install]
        self.assertTrue(job["script"])
        env = {k: str(v) for k, v in {**doc.get("variables", {}), **job.get("variables", {})}.items()}
        env.update(variables)
        env.update({"CI_PROJECT_DIR": clone, "CI_DEFAULT_BRANCH": "main", "CI_PROJECT_ID": "42",
                    "CI_API_V4_URL": "https://gitlab.invalid/api/v4", "CAIRN_NOTE_TOKEN": "test-token"})
        return self.shell("\n".join(before + job["script"]) + "\n", clone, env, job_name)

    # ---- checks ------------------------------------------------------------------------

    def junit(self, clone):
        root = ET.parse(os.path.join(clone, "gate-junit.xml")).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        cases = [c for s in suites for c in s.findall("testcase")]
        self.assertTrue(cases, "the JUnit report has no test cases")
        return len(cases), sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)

    def production(self, repo):
        """The version production names in `repo` (None: unset), from `cairn model show`."""
        p = self.cairn("model", "show", "retriever@production", "--json", cwd=repo)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)["version"]

    def posted(self, name):
        path = os.path.join(self.stub_log, name)
        self.assertTrue(os.path.exists(path), name + " was not posted")
        with open(path) as f:
            text = f.read()
        os.remove(path)
        return text

    def assert_job(self, ok, what):
        if not ok:
            self.fail(what + "\n" + "\n".join(self.log))

    def test_recipes_gate_promote_and_history(self):
        self.log = []
        # 1. The first merge to main (GitHub): nothing holds production yet, so the
        #    baseline passes and is promoted.
        main1 = self.git("rev-parse", "HEAD").stdout.strip()
        clone = self.ci_clone(main1, "ci-main-1")
        ran, failed = self.github_job("promote", clone, {"github.sha": main1})
        self.assert_job(not failed, "GitHub promote job failed: %s" % ran)
        self.assertEqual([n for n, _ in ran][-3:], ["cairn model register", "cairn model promote", "cairn push"])
        self.assertEqual(self.production(clone), 1)

        # 2. A pull request that improves mrr (GitHub): every gate passes, the job is green,
        #    the comment and the JUnit report say so.
        better = self.branch("better", BETTER)
        gh_ctx = {"github.event.pull_request.number": "7", "github.event.pull_request.head.sha": better,
                  "github.token": "test-token"}
        clone = self.ci_clone(better, "ci-pr-better")
        ran, failed = self.github_job("gate", clone, gh_ctx)
        self.assert_job(not failed, "GitHub gate job failed on a better model: %s" % ran)
        self.assertIn("PASS", self.posted("comment.md"))
        cases, failures = self.junit(clone)
        self.assertEqual(failures, 0)
        self.assertGreaterEqual(cases, 3)  # the three gates of cairn.yaml
        self.assertEqual(self.production(clone), 1, "a pull request must not promote")

        # 3. A pull request that makes it worse (GitHub): the gate fails the job, after the
        #    comment and the report were written.
        worse = self.branch("worse", WORSE)
        clone = self.ci_clone(worse, "ci-pr-worse")
        ran, failed = self.github_job("gate", clone, dict(gh_ctx, **{"github.event.pull_request.head.sha": worse}))
        self.assert_job(failed, "GitHub gate job passed a worse model: %s" % ran)
        self.assertEqual(ran[-1], ("Fail when a gate failed", 1), ran)
        self.assertTrue(all(rc == 0 for _, rc in ran[:-1]), ran)
        self.assertIn("FAIL", self.posted("comment.md"))
        self.assertGreaterEqual(self.junit(clone)[1], 1)

        # 4. The same two merge requests through GitLab.
        mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "8"}
        clone = self.ci_clone(worse, "ci-mr-worse")
        rc = self.gitlab_job("model-gate", clone, dict(mr, CI_COMMIT_SHA=worse))
        self.assert_job(rc == 1, "GitLab gate job exited %d on a worse model" % rc)
        note = self.posted("note.md")
        self.assertIn("FAIL", note)
        self.assertGreaterEqual(self.junit(clone)[1], 1)
        with open(os.path.join(self.stub_log, "calls")) as f:
            self.assertIn("/projects/42/merge_requests/8/notes", f.read())
        clone = self.ci_clone(better, "ci-mr-better")
        rc = self.gitlab_job("model-gate", clone, dict(mr, CI_COMMIT_SHA=better))
        self.assert_job(rc == 0, "GitLab gate job exited %d on a better model" % rc)
        self.assertIn("PASS", self.posted("note.md"))
        self.assertEqual(self.junit(clone)[1], 0)

        # 5. Merge the better one (GitLab): the promote job moves production, and a second
        #    clone sees it after pulling.
        main2 = self.merge("better")
        clone = self.ci_clone(main2, "ci-main-2")
        rc = self.gitlab_job("model-promote", clone,
                             {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": main2})
        self.assert_job(rc == 0, "GitLab promote job exited %d" % rc)
        teammate = self.ci_clone("main", "teammate")
        self.assertEqual(self.cairn("pull", cwd=teammate).returncode, 0)
        self.assertEqual(self.production(teammate), 2)
        history = self.cairn("model", "history", "retriever", "--alias", "production", "--json", cwd=teammate)
        self.assertEqual(history.returncode, 0, history.stderr)
        events = json.loads(history.stdout)
        events = events.get("events", events) if isinstance(events, dict) else events
        self.assertEqual(sorted(e["version"] for e in events if e["alias"] == "production"), [1, 2])
        text = self.cairn("model", "history", "retriever", cwd=teammate).stdout
        self.assertIn("production", text)


if __name__ == "__main__":
    import unittest
    unittest.main()
