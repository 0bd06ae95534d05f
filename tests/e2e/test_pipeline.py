"""Pipelines: cairn.yaml, cairn repro (run cache, -j, --force, --dry-run, --downstream),
cairn.lock, stage add/list, dag, lineage and stale stages in status, driven end to end.

Most tests use the example pipeline of examples/pipeline (prepare -> train -> evaluate over
examples/data/iris.csv copied to data/raw/iris.csv, tagged v1). The commands are run by a
`python3` shim placed first on PATH that appends each script name to a counter file outside
the repository and then runs the real interpreter: the counter proves what was executed and
what was not (a restore from the run cache executes nothing). Other tests use small shell
pipelines (sleep, cat, echo) written into cairn.yaml.

The reproducibility test pushes to a directory remote at <tmp>/remote (with --runs) and
works in a `git clone` beside the repository.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from cairn_testlib import CAIRN_BIN, ERROR, NEGATIVE, OK, CairnTestCase, sha256_file, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE_EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "pipeline"))
PYTHONPATH_DIR = os.path.abspath(
    os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))

STAGES = ["prepare", "train", "evaluate"]
OUTPUT_FILES = ["data/prepared/train.csv", "data/prepared/test.csv", "models/model.json", "metrics.json"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOCATION_RE = re.compile(r"cairn\.yaml:(\d+)(?::(\d+))?")
ANOTHER_REPRO = "another 'cairn repro' is running"


def lock_without_run_ids(data):
    """cairn.lock minus its `run:` lines (a forced re-run is a new run, with a new id)."""
    return b"\n".join(l for l in data.split(b"\n") if not l.strip().startswith(b"run: "))


def uuid_of(run_id):
    h = run_id.replace("-", "")
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


# ---------------------------------------------------------------------------------------------
class PipelineTestCase(CairnTestCase):
    """A repository with a python3 shim (counting executions) first on PATH."""

    def setUp(self):
        super().setUp()
        shim_dir = os.path.join(self.tmp, "bin")
        os.mkdir(shim_dir)
        self.counter = os.path.join(self.tmp, "executions.log")
        with open(os.path.join(shim_dir, "python3"), "w") as f:
            f.write('#!/bin/sh\necho "$1" >> \'%s\'\nexec \'%s\' "$@"\n' % (self.counter, sys.executable))
        os.chmod(os.path.join(shim_dir, "python3"), 0o755)
        self.env["PATH"] = os.pathsep.join([shim_dir, os.path.dirname(CAIRN_BIN), self.env.get("PATH", "")])
        self.env["PYTHONPATH"] = PYTHONPATH_DIR
        self.remote = os.path.join(self.tmp, "remote")

    # ---- helpers ------------------------------------------------------------------

    def executions(self):
        """Script names run through python3 so far (in every repository of this test)."""
        if not os.path.exists(self.counter):
            return []
        with open(self.counter) as f:
            return f.read().split()

    def write_yaml(self, text, where=None):
        path = os.path.join(where or self.repo, "cairn.yaml")
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))

    def repro(self, *args, code=OK, cwd=None):
        """cairn repro ARGS --json: the report as a list (asserting exit `code`)."""
        r = self.cairn("repro", *args, "--json", cwd=cwd)
        self.assertEqual(r.returncode, code, "cairn repro %s: expected exit %d\n%s"
                         % (" ".join(args), code, self.describe(r)))
        try:
            report = json.loads(r.stdout)
        except ValueError as e:
            self.fail("cairn repro --json printed invalid JSON (%s):\n%s" % (e, self.describe(r)))
        self.assertIsInstance(report, list)
        for entry in report:
            self.assertTrue({"stage", "outcome", "reasons"} <= set(entry), entry)
        return report

    @staticmethod
    def outcomes(report):
        return {e["stage"]: e["outcome"] for e in report}

    def pipeline_runs(self, cwd=None):
        """Runs of experiment 'pipeline' (none when the experiment does not exist yet)."""
        r = self.cairn("runs", "-e", "pipeline", "-n", "1000", "--json", cwd=cwd)
        if r.returncode == ERROR and "no experiment named 'pipeline'" in r.stderr:
            return []
        self.assertEqual(r.returncode, OK, self.describe(r))
        return json.loads(r.stdout)

    def run_by_id(self, run_id, cwd=None):
        runs = {r["id"]: r for r in self.pipeline_runs(cwd=cwd)}
        self.assertIn(run_id, runs, "run %s not in 'cairn runs -e pipeline'" % run_id)
        return runs[run_id]

    def lock(self, where=None):
        with open(os.path.join(where or self.repo, "cairn.lock"), "rb") as f:
            return f.read()

    def lock_run_ids(self, where=None):
        """{stage: run id} from cairn.lock (stages at indent 2, their 'run:' at indent 4)."""
        out, stage = {}, None
        for line in self.lock(where).decode().splitlines():
            if re.match(r"^  [^ #].*:$", line):
                stage = line.strip()[:-1]
            elif line.startswith("    run: "):
                out[stage] = line.split(": ", 1)[1]
        return out

    def setup_example(self, remote=False):
        """The example pipeline over iris with data/raw tagged v1, committed; returns the commit."""
        for name in sorted(os.listdir(PIPELINE_EXAMPLE)):
            shutil.copyfile(os.path.join(PIPELINE_EXAMPLE, name), self.path(name))
            os.chmod(self.path(name), 0o644)
        self.copy_example("iris.csv", "data/raw/iris.csv")
        self.raw_version = self.add1("data/raw")["version"]
        self.ok("tag", "data/raw", "v1")
        if remote:
            os.mkdir(self.remote)
            self.ok("remote", "add", "origin", self.remote, "-d")
        return self.commit(message="example pipeline")

    def run_example(self):
        """setup_example + repro (all three ran) + commit of the result; returns the code commit."""
        code_commit = self.setup_example()
        report = self.repro()
        self.assertEqual(self.outcomes(report), {s: "ran" for s in STAGES})
        self.runs = {e["stage"]: e["run"] for e in report}
        self.commit(message="repro")
        return code_commit

    def set_param_k(self, k, where=None):
        path = os.path.join(where or self.repo, "params.yaml")
        with open(path) as f:
            text = f.read()
        new = re.sub(r"(?m)^  k: \d+$", "  k: %d" % k, text)
        self.assertIn("  k: %d\n" % k, new)
        with open(path, "w") as f:
            f.write(new)

    def digests(self, files=OUTPUT_FILES, where=None):
        return {f: sha256_file(os.path.join(where or self.repo, f)) for f in files}

    def clone(self, name="clone"):
        dest = os.path.join(self.tmp, name)
        r = subprocess.run(["git", "clone", "-q", self.repo, dest], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "git clone failed:\n" + self.describe(r))
        return dest

    def git_in(self, where, *args):
        r = subprocess.run(["git"] + list(args), cwd=where, env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "git %s in %s failed:\n%s" % (" ".join(args), where, self.describe(r)))
        return r.stdout

    def snapshot(self):
        """Workspace and .cairn (minus the lock files and state.db indexes)."""
        return (self.workspace_snapshot(),
                self.tree_snapshot(self.cairn_dir, skip={"state.db", "state.db-wal", "state.db-shm", "lock",
                                                         "repro.lock"}))

    def assert_same_snapshot(self, before):
        ws, store = self.snapshot()
        self.assertEqual(ws, before[0], "the workspace changed")
        self.assertEqual(store, before[1], "the cache/refs changed")

    def lineage_json(self, *args, cwd=None):
        """cairn lineage ARGS (ending in --format json): the parsed graph."""
        r = self.ok("lineage", *args, cwd=cwd)
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            self.fail("cairn lineage %s printed invalid JSON (%s):\n%s" % (" ".join(args), e, r.stdout))

    def assert_located(self, r, lines, col=None):
        """The error names cairn.yaml:LINE[:COL] with LINE in `lines` (and COL == col if given)."""
        m = LOCATION_RE.search(r.stderr)
        self.assertIsNotNone(m, "the error gives no cairn.yaml:LINE location:\n" + self.describe(r))
        self.assertIn(int(m.group(1)), list(lines),
                      "the error points at the wrong line of cairn.yaml:\n" + self.describe(r))
        if col is not None:
            self.assertEqual(m.group(2), str(col), "wrong column:\n" + self.describe(r))


# ---------------------------------------------------------------------------------------------
class Reproducibility(PipelineTestCase):
    """The guarantee: committed cairn.yaml + cairn.lock + params + code + pointers pin the results."""

    def test_clone_pull_repro_runs_nothing_then_force_is_bit_identical(self):
        code_commit = self.setup_example(remote=True)
        report = self.repro()
        self.assertEqual(self.outcomes(report), {s: "ran" for s in STAGES})
        self.assertEqual(self.executions(), ["prepare.py", "train.py", "evaluate.py"])
        original = self.digests()
        original_lock = self.lock()
        self.assertIn(b"\nformat: 1\n", b"\n" + original_lock)
        self.commit(message="repro")
        # Everything the state needs is committed: nothing left untracked or modified.
        self.assertEqual(self.git("status", "--porcelain", "--untracked-files=all").stdout, "")
        for f in ("cairn.yaml", "cairn.lock", "params.yaml", "prepare.py", "train.py", "evaluate.py",
                  "data/raw.cairn", "data/prepared.cairn", "models/model.json.cairn", ".cairn/config",
                  "data/.gitignore", "models/.gitignore"):
            self.assertEqual(self.git("ls-files", "--error-unmatch", f, check=False).returncode, 0,
                             "%s is not committed" % f)
        self.json("push", "--runs")

        # A fresh clone: pull, then repro runs nothing and the files are the originals.
        clone = self.clone()
        self.json("pull", "--runs", cwd=clone)
        self.assertEqual(self.digests(where=clone), original)
        before_runs = len(self.pipeline_runs(cwd=clone))
        self.assertEqual(before_runs, 3, "the clone did not get the 3 pipeline runs")
        report = self.repro(cwd=clone)
        self.assertEqual(self.outcomes(report), {s: "up-to-date" for s in STAGES}, report)
        self.assertEqual(self.executions(), ["prepare.py", "train.py", "evaluate.py"], "the clone executed stages")
        self.assertEqual(len(self.pipeline_runs(cwd=clone)), before_runs)
        self.assertEqual(self.lock(clone), original_lock)
        self.assertEqual(self.digests(where=clone), original)
        self.assertEqual(self.cairn("status", "--exit-code", cwd=clone).returncode, OK)
        self.assertEqual(self.git_in(clone, "status", "--porcelain", "--untracked-files=all"), "")

        # The provenance travelled with --runs: lineage in the clone reaches data/raw@v1.
        text = self.ok("lineage", "models/model.json", "--up", cwd=clone).stdout
        self.assertIn("data/raw@%s" % self.raw_version.split(":")[1][:12], text)
        self.assertIn("v1", text)
        self.assertIn(code_commit[:12], text)

        # --force executes everything again and reproduces the outputs bit for bit.
        report = self.repro("--force", cwd=clone)
        self.assertEqual(self.outcomes(report), {s: "ran" for s in STAGES}, report)
        self.assertEqual(self.executions()[3:], ["prepare.py", "train.py", "evaluate.py"])
        self.assertEqual(self.digests(where=clone), original, "--force produced different outputs")
        new_lock = self.lock(clone)
        # Only the run ids may differ (a forced execution is a new run).
        self.assertEqual(lock_without_run_ids(new_lock), lock_without_run_ids(original_lock),
                         "cairn.lock changed beyond its run ids after --force:\n%s" % new_lock.decode())
        self.assertEqual(self.lock_run_ids(clone), {e["stage"]: e["run"] for e in report})
        changed = self.git_in(clone, "status", "--porcelain", "--untracked-files=all").split("\n")
        self.assertEqual([l for l in changed if l], [" M cairn.lock"],
                         "--force changed more than the run ids of cairn.lock")

    def test_param_change_reruns_train_and_evaluate_and_revert_restores_without_executing(self):
        self.run_example()
        committed_lock = self.lock()
        original = self.digests()
        self.assertEqual(len(self.executions()), 3)

        self.set_param_k(3)
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"prepare": "up-to-date", "train": "ran", "evaluate": "ran"})
        train = [e for e in report if e["stage"] == "train"][0]
        self.assertIn("param train.k: 5 -> 3", train["reasons"])
        self.assertEqual(self.executions()[3:], ["train.py", "evaluate.py"])
        k3 = self.digests()
        self.assertEqual(k3["data/prepared/train.csv"], original["data/prepared/train.csv"])
        self.assertNotEqual(k3["models/model.json"], original["models/model.json"])
        with open(self.path("models/model.json")) as f:
            self.assertEqual(json.load(f)["k"], 3)
        runs_before = {r["id"] for r in self.pipeline_runs()}
        self.assertEqual(len(runs_before), 5)

        # Back to k=5: the run cache restores train's and evaluate's outputs, nothing runs.
        self.set_param_k(5)
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"prepare": "up-to-date", "train": "restored",
                                                 "evaluate": "restored"})
        self.assertEqual(self.executions()[5:], [], "a restore executed a stage")
        self.assertEqual({r["id"] for r in self.pipeline_runs()}, runs_before, "a restore created runs")
        self.assertEqual({e["stage"]: e.get("run") for e in report if e["outcome"] == "restored"},
                         {"train": self.runs["train"], "evaluate": self.runs["evaluate"]})
        self.assertEqual(self.digests(), original, "restored outputs differ from the k=5 ones")
        self.assertEqual(self.lock(), committed_lock)
        self.assertEqual(self.git("status", "--porcelain", "--untracked-files=all").stdout, "")
        self.assertEqual(self.outcomes(self.repro()), {s: "up-to-date" for s in STAGES})

    def test_restore_brings_back_the_metrics_file(self):
        """evaluate has no outs, only metrics.json: a restore must bring back the matching one."""
        self.run_example()
        with open(self.path("metrics.json"), "rb") as f:
            k5_metrics = f.read()
        self.set_param_k(1)
        self.repro()
        with open(self.path("metrics.json"), "rb") as f:
            self.assertNotEqual(f.read(), k5_metrics, "k=1 and k=5 give the same metrics: pick another k")
        self.set_param_k(5)
        self.assertEqual(self.outcomes(self.repro())["evaluate"], "restored")
        with open(self.path("metrics.json"), "rb") as f:
            self.assertEqual(f.read(), k5_metrics, "metrics.json is the k=1 one after restoring k=5")

    def test_git_checkout_old_commit_then_cairn_checkout(self):
        self.run_example()
        commit_k5 = self.git("rev-parse", "HEAD").stdout.strip()
        k5 = self.digests()
        self.set_param_k(3)
        self.repro()
        commit_k3 = self.commit(message="k=3")
        k3 = self.digests()
        self.assertNotEqual(k3["models/model.json"], k5["models/model.json"])

        self.git("checkout", "-q", commit_k5)
        self.ok("checkout")
        self.assertEqual(self.digests(), k5)
        self.assertEqual(self.cairn("status", "--exit-code").returncode, OK)
        self.assertEqual(self.outcomes(self.repro("--dry-run")), {s: "up-to-date" for s in STAGES})

        self.git("checkout", "-q", commit_k3)
        self.ok("checkout")
        self.assertEqual(self.digests(), k3)
        self.assertEqual(self.outcomes(self.repro("--dry-run")), {s: "up-to-date" for s in STAGES})
        self.assertEqual(len(self.executions()), 5, "checkout/dry-run executed something")


# ---------------------------------------------------------------------------------------------
class Lineage(PipelineTestCase):

    def test_lineage_of_an_artifact(self):
        self.run_example()
        env = dict(os.environ, PYTHONPATH=os.environ.get("CAIRN_PYTHONPATH", ""))
        script = ("import cairn\nopen('report.txt', 'w').write('ok')\ncairn.log_artifact('report.txt')\n")
        r = self.cairn("run", "-n", "report", "--", "python3", "-c", script, env=env)
        self.assertEqual(r.returncode, OK, self.describe(r))
        run_id = [x for x in self.json("runs", "--json") if x["name"] == "report"][0]["id"]
        graph = self.lineage_json("%s:report.txt" % run_id[:8], "--format", "json")
        nodes = {n["id"]: n for n in graph["nodes"]}
        self.assertEqual(nodes[graph["root"]]["kind"], "artifact")
        self.assertIn({"from": "run:" + run_id, "to": graph["root"], "modified": False}, graph["edges"])
        # The run read the workspace's datasets: the walk reaches the model's producer and raw data.
        stages = {n["attrs"].get("stage") for n in graph["nodes"] if n["kind"] == "run"}
        self.assertTrue({"train", "prepare"} <= stages, stages)
        missing = self.cairn("lineage", "%s:nope.txt" % run_id[:8])
        self.assertEqual(missing.returncode, ERROR)
        self.assertIn("no artifact 'nope.txt'", missing.stderr)

    def test_lineage_up_text_and_json(self):
        code_commit = self.run_example()
        model_version = self.pointer("models/model.json")
        r = self.ok("lineage", "models/model.json", "--up")
        text = r.stdout
        raw12 = self.raw_version.split(":")[1][:12]
        self.assertIn("data/raw@%s" % raw12, text)
        self.assertRegex(text, r"data/raw@%s.*v1" % raw12)
        for frag in ("train.k=5", "seed=7", "split.ratio=0.7", "stage train", "stage prepare",
                     "data/prepared", "train.py", "prepare.py", code_commit[:12],
                     self.runs["train"][:8], self.runs["prepare"][:8]):
            self.assertIn(frag, text)
        self.assertNotIn("evaluate", text, "evaluate is downstream of the model, not upstream")

        graph = self.lineage_json("models/model.json", "--up", "--format", "json")
        self.assertEqual(graph["direction"], "up")
        nodes = {n["id"]: n for n in graph["nodes"]}
        self.assertEqual(nodes[graph["root"]]["name"], "models/model.json")
        self.assertEqual(nodes[graph["root"]]["kind"], "dataset")
        runs = {n["attrs"]["stage"]: n for n in graph["nodes"] if n["kind"] == "run"}
        self.assertEqual(set(runs), {"prepare", "train"})
        self.assertEqual(runs["train"]["attrs"]["run"], self.runs["train"])
        self.assertEqual(runs["prepare"]["attrs"]["run"], self.runs["prepare"])
        self.assertEqual(runs["train"]["attrs"]["params.train.k"], "5")
        self.assertEqual(runs["prepare"]["attrs"]["params.seed"], "7")
        self.assertEqual(runs["prepare"]["attrs"]["params.split.ratio"], "0.7")
        for stage in ("prepare", "train"):
            self.assertTrue(runs[stage]["attrs"]["commit"].startswith(code_commit), runs[stage])
        raw = [n for n in graph["nodes"] if n["kind"] == "dataset" and n["name"] == "data/raw"]
        self.assertEqual(len(raw), 1, graph["nodes"])
        self.assertEqual(raw[0]["attrs"]["version"], self.raw_version)
        self.assertIn("v1", raw[0]["attrs"]["tags"].split(","))
        # The edges lead from data/raw through prepare, data/prepared and train to the model.
        edges = {(e["from"], e["to"]) for e in graph["edges"]}
        for a, b in edges:
            self.assertIn(a, nodes)
            self.assertIn(b, nodes)
        prepared = [n["id"] for n in graph["nodes"] if n["name"] == "data/prepared"]
        self.assertEqual(len(prepared), 1)
        for a, b in ((raw[0]["id"], runs["prepare"]["id"]), (runs["prepare"]["id"], prepared[0]),
                     (prepared[0], runs["train"]["id"]), (runs["train"]["id"], graph["root"])):
            self.assertIn((a, b), edges)
        self.assertEqual(nodes[graph["root"]]["attrs"]["version"], model_version["version"])

    def test_lineage_openlineage_events(self):
        code_commit = self.run_example()
        r = self.ok("lineage", "models/model.json", "--up", "--format", "openlineage")
        events = json.loads(r.stdout)
        self.assertIsInstance(events, list)
        # A START and a COMPLETE event per run (test_lineage.py validates them against the spec).
        self.assertEqual(sorted(e["eventType"] for e in events), ["COMPLETE", "COMPLETE", "START", "START"])
        by_job = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
        self.assertEqual(set(by_job), {"prepare", "train"})
        for stage, e in by_job.items():
            self.assertRegex(e["run"]["runId"], UUID_RE)
            self.assertEqual(e["run"]["runId"], uuid_of(self.runs[stage]))
            self.assertEqual(e["job"]["namespace"], "cairn")  # no git origin
            self.assertIn("eventTime", e)
            # Without an origin there is no url, which the facet requires: no facet.
            self.assertNotIn("sourceCodeLocation", e["job"].get("facets", {}))
            self.assertNotIn("sourceCodeLocation", e["run"].get("facets", {}))
        self.assertTrue(code_commit)
        names = lambda side, stage: {d["name"] for d in by_job[stage][side]}
        self.assertEqual(names("inputs", "train"), {"data/prepared", "train.py"})
        self.assertEqual(names("outputs", "train"), {"models/model.json"})
        self.assertEqual(names("inputs", "prepare"), {"data/raw", "prepare.py"})
        self.assertEqual(names("outputs", "prepare"), {"data/prepared"})
        raw = [d for d in by_job["prepare"]["inputs"] if d["name"] == "data/raw"][0]
        self.assertEqual(raw["facets"]["version"]["datasetVersion"], self.raw_version)

    def test_lineage_down_and_depth(self):
        self.run_example()
        graph = self.lineage_json("data/raw@v1", "--down", "--format", "json")
        self.assertEqual(graph["direction"], "down")
        stages = {n["attrs"].get("stage") for n in graph["nodes"] if n["kind"] == "run"}
        self.assertEqual(stages, {"prepare", "train", "evaluate"})
        self.assertIn("models/model.json", {n["name"] for n in graph["nodes"] if n["kind"] == "dataset"})
        # A run id as the target.
        g = self.lineage_json(self.runs["train"], "--format", "json")
        self.assertEqual(g["root"], "run:" + self.runs["train"])
        # --depth 1 walks through one run only.
        up1 = self.lineage_json("models/model.json", "--up", "--depth", "1", "--format", "json")
        self.assertNotIn("data/raw", {n["name"] for n in up1["nodes"]}, "--up --depth 1 went past prepare")
        down1 = self.lineage_json("data/raw@v1", "--down", "--depth", "1", "--format", "json")
        down_stages = {n["attrs"].get("stage") for n in down1["nodes"] if n["kind"] == "run"}
        self.assertEqual(down_stages, {"prepare"},
                         "cairn lineage data/raw@v1 --down --depth 1 walked through more than one run")

    def test_stage_runs_record_the_commit_without_a_false_dirty_flag(self):
        """From a clean, committed tree, no stage run may claim uncommitted code changes: the only
        files that change during repro are cairn's own (cairn.lock, pointer files, .gitignore)."""
        self.run_example()
        head = self.git("rev-parse", "HEAD").stdout.strip()
        report = self.repro("--force")
        for e in report:
            env = self.json("runs", "show", e["run"])["env"]
            self.assertEqual(env.get("git.commit"), head)
            self.assertEqual(env.get("git.dirty"), "false",
                             "stage %s (repro --force from a clean commit) recorded git.dirty=%s"
                             % (e["stage"], env.get("git.dirty")))


# ---------------------------------------------------------------------------------------------
class RunsAndMetrics(PipelineTestCase):

    def test_runs_tags_and_nested_metrics(self):
        code_commit = self.run_example()
        runs = {r["id"]: r for r in self.pipeline_runs()}
        self.assertEqual(set(runs), set(self.runs.values()))
        for stage, rid in self.runs.items():
            run = runs[rid]
            self.assertEqual(run["status"], "FINISHED")
            self.assertEqual(run["name"], stage)
            self.assertEqual(run["tags"]["cairn.stage"], stage)
        prep, train, ev = (runs[self.runs[s]] for s in STAGES)
        self.assertEqual(prep["params"], {"seed": "7", "split.ratio": "0.7"})
        self.assertEqual(train["params"], {"train.k": "5"})
        self.assertEqual(prep["tags"]["cairn.out.data/prepared"], self.pointer("data/prepared")["version"])
        self.assertEqual(train["tags"]["cairn.out.models/model.json"], self.pointer("models/model.json")["version"])
        self.assertEqual(prep["tags"]["cairn.dep.prepare.py"], "sha256:" + self.sha("prepare.py"))
        self.assertIn("cairn.dep.data/raw", prep["tags"])
        self.assertIn("cairn.dep.models/model.json", ev["tags"])
        # evaluate's metrics.json is nested: {"accuracy": .., "test": {"rows": 45}}.
        with open(self.path("metrics.json")) as f:
            m = json.load(f)
        self.assertEqual(m["test"]["rows"], 45)
        self.assertEqual(set(ev["metrics"]), {"accuracy", "test.rows"})
        self.assertAlmostEqual(ev["metrics"]["accuracy"]["value"], m["accuracy"])
        self.assertEqual(ev["metrics"]["test.rows"]["value"], 45)
        found = self.json("runs", "-e", "pipeline", "--where", "metrics.test.rows = 45 and metrics.accuracy > 0.5")
        self.assertEqual([r["id"] for r in found], [self.runs["evaluate"]])
        show = self.json("runs", "show", self.runs["prepare"])
        self.assertEqual(show["env"]["git.commit"], code_commit)
        self.assertIn("data/raw", [i["dataset"] for i in show["inputs"]])


# ---------------------------------------------------------------------------------------------
CHAIN = """
    stages:
      a:
        cmd: cat a.in > a.txt
        deps: [a.in]
        outs: [a.txt]
      b:
        cmd: cat a.txt b.in > b.txt
        deps: [a.txt, b.in]
        outs: [b.txt]
      c:
        cmd: cat b.txt > c.txt
        deps: [b.txt]
        outs: [c.txt]
      d:
        cmd: echo d > d.txt
        outs: [d.txt]
    """


class Scheduling(PipelineTestCase):

    def parallel_yaml(self, logdir):
        self.write_yaml("""
            stages:
              left:
                cmd: date +%%s.%%N > {log}/left.start; sleep 1; echo L > left.txt; date +%%s.%%N > {log}/left.end
                outs: [left.txt]
              right:
                cmd: date +%%s.%%N > {log}/right.start; sleep 1; echo R > right.txt; date +%%s.%%N > {log}/right.end
                outs: [right.txt]
              join:
                cmd: date +%%s.%%N > {log}/join.start; cat left.txt right.txt > joined.txt
                deps: [left.txt, right.txt]
                outs: [joined.txt]
            """.replace("%%", "%").replace("{log}", logdir))

    def stamps(self, logdir):
        out = {}
        for name in os.listdir(logdir):
            with open(os.path.join(logdir, name)) as f:
                out[name] = float(f.read())
        return out

    def test_jobs_run_independent_stages_in_parallel(self):
        logdir = os.path.join(self.tmp, "stamps")
        os.mkdir(logdir)
        self.parallel_yaml(logdir)
        t0 = time.monotonic()
        report = self.repro("-j", "2")
        parallel = time.monotonic() - t0
        self.assertEqual(self.outcomes(report), {"left": "ran", "right": "ran", "join": "ran"})
        s = self.stamps(logdir)
        self.assertLess(max(s["left.start"], s["right.start"]), min(s["left.end"], s["right.end"]),
                        "with -j 2, left and right did not overlap: %s" % s)
        self.assertGreaterEqual(s["join.start"], max(s["left.end"], s["right.end"]), "join ran too early")
        with open(self.path("joined.txt")) as f:
            self.assertEqual(f.read(), "L\nR\n")

        for name in os.listdir(logdir):
            os.unlink(os.path.join(logdir, name))
        t0 = time.monotonic()
        report = self.repro("-j", "1", "--force")
        sequential = time.monotonic() - t0
        self.assertEqual(self.outcomes(report), {"left": "ran", "right": "ran", "join": "ran"})
        s = self.stamps(logdir)
        first, second = sorted(("left", "right"), key=lambda n: s[n + ".start"])
        self.assertGreaterEqual(s[second + ".start"], s[first + ".end"], "-j 1 overlapped stages: %s" % s)
        self.assertGreaterEqual(sequential, 2.0)
        self.assertLess(parallel, sequential - 0.5,
                        "-j 2 took %.2fs, sequential %.2fs" % (parallel, sequential))

    def setup_chain(self):
        self.write("a.in", "a1\n")
        self.write("b.in", "b1\n")
        self.write_yaml(CHAIN)

    def test_dry_run_changes_nothing(self):
        self.setup_chain()
        before = self.snapshot()
        report = self.repro("--dry-run")
        self.assertEqual(self.outcomes(report), {s: "would-run" for s in "abcd"})
        self.assert_same_snapshot(before)
        self.assertFalse(os.path.exists(self.path("cairn.lock")))
        self.assertEqual(self.pipeline_runs(), [])
        r = self.ok("repro", "-n")
        self.assertIn("stage a: would-run", r.stdout)
        self.assertEqual(self.pipeline_runs(), [])

        self.repro()
        for content in ("a2\n", "a1\n"):  # new content, then content the run cache knows
            self.write("a.in", content)
            lock = self.lock()
            runs = self.pipeline_runs()
            before = self.snapshot()
            report = self.repro("-n")
            self.assertEqual(self.outcomes(report)["a"], "would-run" if content == "a2\n" else "would-restore")
            self.assertEqual(self.outcomes(report)["d"], "up-to-date")
            self.assert_same_snapshot(before)
            self.assertEqual(self.lock(), lock)
            self.assertEqual(self.pipeline_runs(), runs)
            self.repro()

    def test_dry_run_predicts_what_repro_does(self):
        """Each would-run / would-restore / up-to-date of --dry-run is what repro then does."""
        self.setup_chain()
        self.repro()
        expected = {"ran": "would-run", "restored": "would-restore", "up-to-date": "up-to-date"}
        for content in ("a2\n", "a1\n"):  # never seen (b and c must run), then seen (all restored)
            self.write("a.in", content)
            predicted = self.outcomes(self.repro("-n"))
            actual = self.outcomes(self.repro())
            self.assertEqual(predicted, {k: expected[v] for k, v in actual.items()},
                             "a.in = %r: --dry-run predicted %s, repro did %s" % (content, predicted, actual))

    def test_repro_named_stage_runs_it_and_its_upstream_only(self):
        self.setup_chain()
        report = self.repro("b")
        self.assertEqual(self.outcomes(report), {"a": "ran", "b": "ran"})
        self.assertFalse(os.path.exists(self.path("c.txt")))
        self.assertFalse(os.path.exists(self.path("d.txt")))
        self.assertEqual(set(self.lock_run_ids()), {"a", "b"})
        with open(self.path("b.txt")) as f:
            self.assertEqual(f.read(), "a1\nb1\n")
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"a": "up-to-date", "b": "up-to-date", "c": "ran", "d": "ran"})
        # Several names.
        self.write("a.in", "a2\n")
        report = self.repro("a", "d")
        self.assertEqual(self.outcomes(report), {"a": "ran", "d": "up-to-date"})

    def test_downstream(self):
        self.setup_chain()
        self.repro()
        self.write("a.in", "a2\n")
        self.write("b.in", "b2\n")
        report = self.repro("b", "--downstream")
        self.assertEqual(self.outcomes(report), {"b": "ran", "c": "ran"})
        with open(self.path("c.txt")) as f:
            self.assertEqual(f.read(), "a1\nb2\n")  # a was not re-run
        with open(self.path("a.txt")) as f:
            self.assertEqual(f.read(), "a1\n")
        st = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual(st["a"]["state"], "stale")
        self.assertEqual(st["d"]["state"], "up-to-date")
        report = self.repro("a", "--downstream")
        self.assertEqual(self.outcomes(report), {"a": "ran", "b": "ran", "c": "ran"})
        with open(self.path("c.txt")) as f:
            self.assertEqual(f.read(), "a2\nb2\n")


# ---------------------------------------------------------------------------------------------
class Validation(PipelineTestCase):
    """Bad cairn.yaml: exit 2 before anything runs, the error located as cairn.yaml:LINE[:COL]."""

    def invalid(self, yaml_text, *fragments, args=()):
        self.write_yaml(yaml_text)
        r = self.fails("repro", *args, msg=fragments)
        self.assertFalse(os.path.exists(self.path("cairn.lock")), "cairn.lock written:\n" + self.describe(r))
        self.assertEqual(self.pipeline_runs(), [], "a stage ran despite the error")
        return r

    def test_unknown_key_in_stage(self):
        r = self.invalid("""
            stages:
              a:
                cmd: echo a > a.txt
                outz: [a.txt]
            """, "unknown key 'outz'", "stage 'a'")
        self.assert_located(r, [4], col=5)

    def test_unknown_top_level_key(self):
        r = self.invalid("""
            params: params.yaml
            stages:
              a:
                cmd: echo a > a.txt
                outs: [a.txt]
            stagez: {}
            """, "unknown top-level key 'stagez'")
        self.assert_located(r, [6], col=1)

    def test_missing_cmd(self):
        r = self.invalid("""
            stages:
              ok:
                cmd: echo a > a.txt
                outs: [a.txt]
              nocmd:
                deps: [a.txt]
                outs: [b.txt]
            """, "stage 'nocmd'", "cmd")
        self.assert_located(r, [5, 6, 7])

    def test_bad_yaml_syntax(self):
        r = self.invalid("""
            stages:
              a:
                cmd: echo: a
                outs: [a.txt]
            """)
        self.assert_located(r, [3], col=14)

    def test_tab_indentation(self):
        self.write_yaml("stages:\n  a:\n    cmd: echo a > a.txt\n\touts: [a.txt]\n")
        r = self.fails("repro")
        self.assert_located(r, [4])

    def test_cycle_names_the_stages(self):
        r = self.invalid("""
            stages:
              alpha:
                cmd: cp beta.txt alpha.txt
                deps: [beta.txt]
                outs: [alpha.txt]
              beta:
                cmd: cp alpha.txt beta.txt
                deps: [alpha.txt]
                outs: [beta.txt]
            """, "cycle")
        self.assertRegex(r.stderr, r"alpha -> beta -> alpha|beta -> alpha -> beta")
        self.assert_located(r, range(2, 10))

    def test_output_declared_by_two_stages(self):
        r = self.invalid("""
            stages:
              one:
                cmd: echo 1 > shared.txt
                outs: [shared.txt]
              two:
                cmd: echo 2 > shared.txt
                outs: [shared.txt]
            """, "shared.txt", "'one'", "'two'")
        self.assert_located(r, range(5, 8))

    def test_output_escaping_the_repository(self):
        r = self.invalid("""
            stages:
              a:
                cmd: echo a > ../x
                outs: [../x]
            """, "outside the repository")
        self.assert_located(r, [4])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))

    def test_dependency_escaping_the_repository(self):
        r = self.invalid("""
            stages:
              a:
                cmd: cat ../secret > a.txt
                deps: [../secret]
                outs: [a.txt]
            """, "outside the repository")
        self.assert_located(r, [4])

    def test_output_tracked_under_another_name(self):
        self.write("other.txt", "mine\n")
        self.add1("other.txt", name="mydata")
        pointer = self.pointer_bytes("other.txt")
        r = self.invalid("""
            stages:
              a:
                cmd: echo a > other.txt
                outs: [other.txt]
            """, "other.txt", "mydata")
        self.assert_located(r, [2, 3, 4])
        self.assertEqual(self.read("other.txt"), b"mine\n")
        self.assertEqual(self.pointer_bytes("other.txt"), pointer)

    def test_output_inside_a_tracked_directory(self):
        self.write("d/sub/f.txt", "tracked\n")
        self.add1("d")
        r = self.invalid("""
            stages:
              a:
                cmd: echo a > d/sub/f.txt
                outs: [d/sub/f.txt]
            """, "d/sub/f.txt", "'d'")
        self.assert_located(r, [2, 3, 4])
        self.assertEqual(self.read("d/sub/f.txt"), b"tracked\n")

    def test_output_that_is_its_own_dependency(self):
        r = self.invalid("""
            stages:
              a:
                cmd: echo a >> a.txt
                deps: [a.txt]
                outs: [a.txt]
            """, "a.txt")
        self.assert_located(r, [2, 3, 4, 5])

    def test_duplicate_stage(self):
        r = self.invalid("""
            stages:
              a:
                cmd: echo a > a.txt
              a:
                cmd: echo b > a.txt
            """, "'a'")
        self.assert_located(r, [4])

    def test_duplicate_key_in_a_stage(self):
        """YAML forbids duplicate keys; silently keeping one 'cmd' of two runs the wrong command."""
        r = self.invalid("""
            stages:
              a:
                cmd: echo first > a.txt
                outs: [a.txt]
                cmd: echo second > a.txt
            """, "cmd")
        self.assert_located(r, [5])

    def test_empty_file(self):
        self.write_yaml("")
        r = self.fails("repro")
        m = LOCATION_RE.search(r.stderr)
        if m:
            self.assertGreaterEqual(int(m.group(1)), 1, "location line 0 (lines count from 1):\n" + self.describe(r))

    def test_unknown_stage_name(self):
        self.write_yaml("""
            stages:
              a:
                cmd: echo a > a.txt
                outs: [a.txt]
            """)
        r = self.fails("repro", "nosuch", msg="no stage named 'nosuch'")
        self.assertFalse(os.path.exists(self.path("a.txt")))
        self.assertFalse(os.path.exists(self.path("cairn.lock")))
        self.fails("repro", "a", "nosuch", msg="nosuch")
        self.assertFalse(os.path.exists(self.path("a.txt")))

    def test_missing_param_key(self):
        self.write("params.yaml", "train:\n  k: 5\n")
        r = self.invalid("""
            stages:
              first:
                cmd: echo first > first.txt
                outs: [first.txt]
              second:
                cmd: echo ${train.k} > second.txt
                deps: [first.txt]
                params: [train.lr]
                outs: [second.txt]
            """, "train.lr")
        self.assertFalse(os.path.exists(self.path("first.txt")), "stage 'first' ran before the error")
        self.assert_located(r, [8])

    def test_missing_param_in_command(self):
        self.write("params.yaml", "train:\n  k: 5\n")
        r = self.invalid("""
            stages:
              first:
                cmd: echo first > first.txt
                outs: [first.txt]
              second:
                cmd: echo ${train.nope} > second.txt
                deps: [first.txt]
                outs: [second.txt]
            """, "train.nope")
        self.assertFalse(os.path.exists(self.path("first.txt")), "stage 'first' ran before the error")
        self.assert_located(r, [6])

    def test_missing_params_file(self):
        self.invalid("""
            params: nofile.yaml
            stages:
              a:
                cmd: echo ${k} > a.txt
                params: [k]
                outs: [a.txt]
            """, "nofile.yaml")


# ---------------------------------------------------------------------------------------------
FAILING = """
    stages:
      a:
        cmd: {cmd}
        deps: [a.sh, input.txt]
        outs: [out/a.txt]
      b:
        cmd: cp out/a.txt b.txt
        deps: [out/a.txt]
        outs: [b.txt]
    """


class Failures(PipelineTestCase):
    """A failing stage: exit 2, outputs and lock entry untouched, dependants skipped, run FAILED."""

    def setUp(self):
        super().setUp()
        self.write("input.txt", "in\n")
        self.write("a.sh", "mkdir -p out; cat input.txt > out/a.txt; echo v1 >> out/a.txt\n")
        self.write_yaml(FAILING.replace("{cmd}", "sh a.sh"))
        self.assertEqual(self.outcomes(self.repro()), {"a": "ran", "b": "ran"})
        self.commit(message="good state")
        self.good = (self.lock(), self.read("out/a.txt"), self.pointer_bytes("out/a.txt"),
                     self.read("b.txt"), self.pointer_bytes("b.txt"))
        self.good_runs = {r["id"] for r in self.pipeline_runs()}

    def assert_failed(self, error_fragments, stderr_fragments=(), ran=True):
        r = self.cairn("repro")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertRegex(r.stdout, r"(?m)^stage a: failed")
        self.assertRegex(r.stdout, r"(?m)^stage b: skipped")
        self.assert_error(r, "stage a failed", *error_fragments)
        for frag in stderr_fragments:
            self.assertIn(frag, r.stderr)
        self.assertEqual((self.lock(), self.read("out/a.txt"), self.pointer_bytes("out/a.txt"),
                          self.read("b.txt"), self.pointer_bytes("b.txt")), self.good,
                         "the failure changed outputs, pointers or cairn.lock")
        new = [x for x in self.pipeline_runs() if x["id"] not in self.good_runs]
        self.assertFalse([x for x in new if x["status"] != "FAILED"], new)
        if ran:
            self.assertEqual(len(new), 1, new)
            self.assertEqual(new[0]["name"], "a")
        else:
            self.assertEqual(new, [])
        # The same through --json.
        report = self.repro(code=ERROR)
        a, b = report
        self.assertEqual((a["stage"], a["outcome"]), ("a", "failed"))
        self.assertEqual((b["stage"], b["outcome"]), ("b", "skipped"))
        for frag in error_fragments:
            self.assertIn(frag, a["error"])
        for frag in stderr_fragments:
            self.assertIn(frag, a.get("stderr_tail", ""))
        if ran:
            self.assertEqual(self.run_by_id(a["run"])["status"], "FAILED")
        self.assertEqual(self.lock(), self.good[0])
        return r

    def test_command_not_found(self):
        self.write_yaml(FAILING.replace("{cmd}", "no-such-command-xyz --flag"))
        self.assert_failed(["127"], ["not found"])

    def test_non_zero_exit_after_writing_partial_output(self):
        self.write("a.sh", "echo partial > out/a.txt; echo 'something broke' >&2; exit 3\n")
        self.assert_failed(["exited with 3"], ["something broke"])

    def test_output_not_produced(self):
        self.write("a.sh", "rm -f out/a.txt; echo done\n")
        self.assert_failed(["out/a.txt"])

    def test_command_that_stops_writing_its_output_fails(self):
        # The previous output is removed before the stage runs, so a stale
        # copy cannot pass for a new one; the failure then restores it.
        self.write("a.sh", "echo nothing\n")
        self.assert_failed(["out/a.txt"])

    def test_missing_dependency(self):
        os.unlink(self.path("input.txt"))
        self.assert_failed(["input.txt"], ran=False)
        st = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual(st["a"]["state"], "stale")
        self.assertTrue(any("input.txt" in x for x in st["a"]["reasons"]), st["a"])

    def test_first_run_without_output_leaves_no_lock_entry(self):
        self.write_yaml(FAILING.replace("{cmd}", "sh a.sh").rstrip(" ") + "      c:\n        cmd: 'true'\n        outs: [never.txt]\n")
        report = self.repro(code=ERROR)
        c = [e for e in report if e["stage"] == "c"][0]
        self.assertEqual(c["outcome"], "failed")
        self.assertIn("never.txt", c["error"])
        self.assertNotIn("c", self.lock_run_ids())
        self.assertFalse(os.path.exists(self.path("never.txt.cairn")))
        self.assertEqual(self.run_by_id(c["run"])["status"], "FAILED")

    def test_fixing_the_stage_recovers(self):
        self.write("a.sh", "exit 1\n")
        self.repro(code=ERROR)
        self.write("a.sh", "mkdir -p out; echo v2 > out/a.txt\n")
        self.assertEqual(self.outcomes(self.repro()), {"a": "ran", "b": "ran"})
        self.assertEqual(self.read("b.txt"), b"v2\n")


# ---------------------------------------------------------------------------------------------
class Interruptions(PipelineTestCase):

    def test_second_repro_refused_while_one_runs(self):
        self.write_yaml("""
            stages:
              slow:
                cmd: touch started; sleep 2; echo done > out.txt
                outs: [out.txt]
            """)
        p = self.popen("repro", "-q")
        self.addCleanup(lambda: p.poll() is None and p.kill())
        wait_for(lambda: os.path.exists(self.path("started")) or p.poll() is not None, what="the stage to start")
        self.assertIsNone(p.poll(), "the first repro ended before the second could start")
        r = self.fails("repro", msg=ANOTHER_REPRO)
        self.assertIn(str(p.pid), r.stderr, "the error does not name the running repro's pid")
        self.fails("repro", "--force", msg=ANOTHER_REPRO)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, OK, err)
        self.assertEqual(self.read("out.txt"), b"done\n")
        runs = self.pipeline_runs()
        self.assertEqual([x["status"] for x in runs], ["FINISHED"], "the refused repro recorded a run")
        self.assertEqual(self.outcomes(self.repro()), {"slow": "up-to-date"})

    def test_kill_9_mid_stage(self):
        self.write("delay", "30\n")
        self.write_yaml("""
            stages:
              fast:
                cmd: echo fast > fast.txt
                outs: [fast.txt]
            """)
        self.repro()
        lock = self.lock()
        self.ok("stage", "add", "slow", "--cmd", "echo $$ > slow.pid; sleep $(cat delay); echo slow > slow.txt",
                "-d", "fast.txt", "-o", "slow.txt")
        p = self.popen("repro", "-q", preexec_fn=os.setsid)
        self.addCleanup(self._killpg, p.pid)
        wait_for(lambda: os.path.exists(self.path("slow.pid")) or p.poll() is not None, what="stage slow to start")
        self.assertIsNone(p.poll(), "repro ended before it could be killed")
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertEqual(self.lock(), lock, "cairn.lock changed by the killed repro")
        self.assertFalse(os.path.exists(self.path("slow.txt.cairn")))
        self._killpg(p.pid)  # the orphaned stage command
        self.write("delay", "0\n")

        report = self.repro()
        self.assertEqual(self.outcomes(report), {"fast": "up-to-date", "slow": "ran"})
        self.assertEqual(self.read("slow.txt"), b"slow\n")
        self.assertEqual(set(self.lock_run_ids()), {"fast", "slow"})
        slow_runs = [x for x in self.pipeline_runs() if x["name"] == "slow"]
        self.assertEqual(sorted(x["status"] for x in slow_runs), ["FAILED", "FINISHED"],
                         "the killed run is not FAILED: %s" % [(x["id"], x["status"]) for x in slow_runs])
        self.assertEqual(self.cairn("status", "--exit-code").returncode, OK)

    @staticmethod
    def _killpg(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------------------------------------
class StagesDagStatus(PipelineTestCase):

    def test_stage_add_then_repro(self):
        self.write("params.yaml", "greeting: hello\n")
        self.write("in.txt", "world\n")
        self.ok("stage", "add", "hello", "--cmd",
                'mkdir -p out && echo ${greeting} $(cat in.txt) $CAIRN_RUN_ID > out/hello.txt',
                "-d", "in.txt", "-o", "out/hello.txt", "-p", "greeting")
        stages = self.json("stage", "list")
        self.assertEqual(len(stages), 1)
        s = stages[0]
        self.assertEqual((s["name"], s["deps"], s["outs"], s["params"]),
                         ("hello", ["in.txt"], ["out/hello.txt"], ["greeting"]))
        self.assertEqual(s["cmd"], 'mkdir -p out && echo ${greeting} $(cat in.txt) $CAIRN_RUN_ID > out/hello.txt')
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"hello": "ran"})
        self.assertEqual(self.read("out/hello.txt"), ("hello world %s\n" % report[0]["run"]).encode())
        self.assertTrue(os.path.exists(self.path("out/hello.txt.cairn")))

        # A second stage depending on the first, with a metrics file.
        self.ok("stage", "add", "count", "--cmd",
                "wc -c < out/hello.txt | tr -d ' ' > n.txt && echo '{\"n\": 1}' > m.json",
                "-d", "out/hello.txt", "-o", "n.txt", "-m", "m.json")
        self.assertEqual([x["name"] for x in self.json("stage", "list")], ["hello", "count"])
        self.assertEqual(self.json("stage", "list")[1]["after"], ["hello"])
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"hello": "up-to-date", "count": "ran"})
        self.assertEqual(self.run_by_id(report[1]["run"])["metrics"]["n"]["value"], 1)

    def test_stage_add_existing_name_needs_force(self):
        self.ok("stage", "add", "s", "--cmd", "echo 1 > s.txt", "-o", "s.txt")
        with open(self.path("cairn.yaml"), "rb") as f:
            before = f.read()
        self.fails("stage", "add", "s", "--cmd", "echo 2 > s.txt", "-o", "s.txt", msg="'s'", hint="--force")
        with open(self.path("cairn.yaml"), "rb") as f:
            self.assertEqual(f.read(), before)
        self.ok("stage", "add", "s", "--cmd", "echo 2 > s.txt", "-o", "s.txt", "-f")
        self.assertEqual(self.json("stage", "list")[0]["cmd"], "echo 2 > s.txt")
        self.repro()
        self.assertEqual(self.read("s.txt"), b"2\n")

    def test_stage_add_rejects_an_invalid_result(self):
        self.ok("stage", "add", "a", "--cmd", "cp b.txt a.txt", "-d", "b.txt", "-o", "a.txt")
        with open(self.path("cairn.yaml"), "rb") as f:
            before = f.read()
        self.fails("stage", "add", "b", "--cmd", "cp a.txt b.txt", "-d", "a.txt", "-o", "b.txt", msg="cycle")
        self.fails("stage", "add", "c", "--cmd", "echo > ../x", "-o", "../x", msg="outside the repository")
        self.fails("stage", "add", "d", "--cmd", "echo > a.txt", "-o", "a.txt", msg="a.txt")
        self.fails("stage", "add", "bad name", "--cmd", "true")
        with open(self.path("cairn.yaml"), "rb") as f:
            self.assertEqual(f.read(), before, "a rejected stage add changed cairn.yaml")

    def test_dag_formats(self):
        self.setup_example()
        edges = {("prepare", "train"), ("train", "evaluate"), ("prepare", "evaluate")}
        dag = self.json("dag")
        self.assertEqual([s["name"] for s in dag["stages"]], STAGES)
        self.assertEqual({(e["from"], e["to"]) for e in dag["edges"]}, edges)
        self.assertEqual(dag["stages"][1]["outs"], ["models/model.json"])
        dot = self.ok("dag", "--dot").stdout
        self.assertTrue(dot.lstrip().startswith("digraph"), dot)
        self.assertEqual(dot.count("{"), dot.count("}"))
        self.assertEqual(set(re.findall(r'"(\w+)" -> "(\w+)"', dot)), edges)
        mermaid = self.ok("dag", "--mermaid").stdout
        self.assertTrue(mermaid.startswith("flowchart"), mermaid)
        self.assertEqual(set(re.findall(r"(?m)^\s*(\w+) --> (\w+)\s*$", mermaid)), edges)
        text = self.ok("dag").stdout
        for s in STAGES:
            self.assertIn(s, text)
        self.assertEqual([x["name"] for x in self.json("stage", "list")], STAGES)
        self.assertEqual(self.ok("stage", "list").stdout.splitlines()[0].split("\t")[0], "prepare")

    def test_status_shows_stale_stages_with_reasons(self):
        self.run_example()
        self.assertEqual(self.cairn("status", "--exit-code").returncode, OK)
        st = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual({k: v["state"] for k, v in st.items()}, {s: "up-to-date" for s in STAGES})

        self.append("train.py", "# a comment\n")
        r = self.cairn("status")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertRegex(r.stdout, r"(?m)^stage train: stale \(.*train\.py.*\)$")
        self.assertRegex(r.stdout, r"(?m)^stage evaluate: stale \(.*\)$")
        self.assertNotIn("stage prepare: stale", r.stdout)
        st = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual(st["prepare"], {"stage": "prepare", "state": "up-to-date", "reasons": []})
        self.assertEqual(st["train"]["state"], "stale")
        self.assertEqual(st["train"]["reasons"], ["dependency train.py changed"])
        self.assertEqual(st["evaluate"]["state"], "stale")
        self.assertTrue(st["evaluate"]["reasons"])
        self.assertEqual(self.cairn("status", "--exit-code").returncode, NEGATIVE)

        # A param change and a modified output are reasons too.
        self.set_param_k(7)
        self.write("data/prepared/test.csv", "edited\n")
        st = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual(st["prepare"]["state"], "stale")
        self.assertTrue(any("data/prepared" in x for x in st["prepare"]["reasons"]), st["prepare"])
        self.assertTrue(any("train.k" in x for x in st["train"]["reasons"]), st["train"])
        self.repro()
        self.assertEqual(self.cairn("status", "--exit-code").returncode, OK)


# ---------------------------------------------------------------------------------------------
class ReviewDefects(PipelineTestCase):
    """Defects found in review (issue 12), each asserting the outcome."""

    def test_stage_metrics_are_step_0_at_log_time_and_the_child_environment(self):
        self.write("stage.sh", textwrap.dedent("""\
            printf '{"acc": 0.5, "nested": {"f1": 0.25}, "ok": true}' > metrics.json
            echo "$CAIRN_RUN_ID|$CAIRN_DIR|$CAIRN_TRACKING_URI" > env.txt
            python3 -c 'import cairn; cairn.log_metric("inside", 2.0)'
            """))
        self.write_yaml("""
            stages:
              m:
                cmd: sh stage.sh
                deps: [stage.sh]
                metrics: [metrics.json]
            """)
        before = int(time.time() * 1000)
        report = self.repro()
        after = int(time.time() * 1000)
        self.assertEqual(self.outcomes(report), {"m": "ran"}, report)
        run = report[0]["run"]
        for key, value in (("acc", 0.5), ("nested.f1", 0.25), ("ok", 1.0)):
            points = self.json("runs", "history", run, key, "--json")
            self.assertEqual(len(points), 1, points)
            self.assertEqual(points[0]["value"], value)
            self.assertEqual(points[0]["step"], 0, "a metrics file's numbers are logged at step 0")
            self.assertTrue(before <= points[0]["timestamp"] <= after,
                            "timestamp %s not between %d and %d" % (points[0]["timestamp"], before, after))
        root = os.path.realpath(self.repo)
        run_id, cairn_dir, uri = self.read("env.txt").decode().strip().split("|")
        self.assertEqual(run_id, run)
        self.assertEqual(os.path.realpath(cairn_dir), root, "CAIRN_DIR is the repository root, as under cairn run")
        self.assertEqual(os.path.realpath(uri), root)
        # The Python module inside the stage found the repository through CAIRN_DIR.
        self.assertEqual(self.json("runs", "history", run, "inside", "--json")[0]["value"], 2.0)
        # The same meaning under cairn run.
        self.ok("run", "--", "sh", "-c", 'echo "$CAIRN_DIR" > run_env.txt')
        self.assertEqual(os.path.realpath(self.read("run_env.txt").decode().strip()), root)

    def test_a_stage_reading_a_metrics_file_runs_after_its_writer(self):
        self.write("write.sh", "sleep 1; echo '{\"acc\": 1}' > m.json\n")
        self.write_yaml("""
            stages:
              write:
                cmd: sh write.sh
                deps: [write.sh]
                metrics: [m.json]
              read:
                cmd: cat m.json > read.txt
                deps: [m.json]
                outs: [read.txt]
            """)
        dag = self.json("dag")
        self.assertIn({"from": "write", "to": "read"}, dag["edges"])
        report = self.repro("-j", "2")
        self.assertEqual([e["stage"] for e in report], ["write", "read"], report)
        self.assertEqual(self.outcomes(report), {"write": "ran", "read": "ran"})
        self.assertEqual(self.read("read.txt"), b'{"acc": 1}\n')
        # Staleness follows the edge: a changed writer makes the reader stale too.
        self.write("write.sh", "sleep 1; echo '{\"acc\": 2}' > m.json\n")
        states = {e["stage"]: e for e in self.json("status") if "stage" in e}
        self.assertEqual(states["read"]["state"], "stale")
        self.assertIn("upstream stage write is stale", states["read"]["reasons"])
        self.assertEqual(self.outcomes(self.repro("-j", "2")), {"write": "ran", "read": "ran"})
        self.assertEqual(self.read("read.txt"), b'{"acc": 2}\n')

    def test_a_cycle_through_a_metrics_file_is_refused(self):
        self.write_yaml("""
            stages:
              a:
                cmd: x
                deps: [b.out]
                metrics: [a.json]
              b:
                cmd: y
                deps: [a.json]
                outs: [b.out]
            """)
        r = self.fails("repro", msg="cycle")
        self.assertIn("a -> b -> a", r.stderr)

    def test_stage_add_with_an_unknown_param_writes_nothing(self):
        self.write("params.yaml", "train:\n  k: 3\n")
        self.fails("stage", "add", "bad", "--cmd", "echo", "-p", "nonexist.key", msg="nonexist.key")
        self.assertFalse(os.path.exists(self.path("cairn.yaml")), "the stage was written")
        self.ok("stage", "add", "good", "--cmd", "echo ${train.k} > k.txt", "-p", "train.k", "-o", "k.txt")
        before = self.read("cairn.yaml")
        self.fails("stage", "add", "bad", "--cmd", "echo ${nope}", msg="nope")
        self.assertEqual(self.read("cairn.yaml"), before)
        self.ok("stage", "list")
        self.assertEqual(self.outcomes(self.repro()), {"good": "ran"})

    def test_an_input_that_cannot_be_recorded_fails_the_stage(self):
        self.write("data/raw/a.csv", "x\n1\n")
        self.add1("data/raw")
        self.write_yaml("""
            stages:
              use:
                cmd: cat data/raw/a.csv > out.txt
                deps: [data/raw]
                outs: [out.txt]
            """)
        self.ok("runs", "-n", "1")  # the tracking tables exist
        # Recording the run's input fails (injected: a trigger refuses the row).
        import sqlite3
        db = sqlite3.connect(os.path.join(self.cairn_dir, "state.db"))
        db.execute("CREATE TRIGGER refuse_inputs BEFORE INSERT ON run_inputs "
                   "BEGIN SELECT RAISE(FAIL, 'injected input failure'); END")
        db.commit()
        db.close()
        report = self.repro(code=ERROR)
        self.assertEqual(self.outcomes(report), {"use": "failed"}, report)
        self.assertIn("cannot record input data/raw@", report[0]["error"])
        self.assertIn("injected input failure", report[0]["error"])
        runs = self.pipeline_runs()
        self.assertEqual([r["status"] for r in runs], ["FAILED"], "the run was not ended FAILED")
        self.assertFalse(os.path.exists(self.path("out.txt")), "the command ran without its lineage")
        self.assertNotIn(b"use:", self.lock() if os.path.exists(self.path("cairn.lock")) else b"")


if __name__ == "__main__":
    unittest.main()
