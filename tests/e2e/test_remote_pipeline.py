"""Pipelines across clones: what push and pull carry for cairn.lock and the run cache.

Two real clones of one bare git repository share a directory remote (<tmp>/remote):
- By default (no targets, no --runs), push and pull carry the runs that cairn.lock at HEAD
  names, so `lineage --up` and `cairn runs` in a fresh clone show the stage runs; other runs
  still need --runs. A lock run the remote lacks is a note on pull, not an error.
- With --runs, run-cache entries travel (remote: refs/runcache/<key hex>) with the versions
  and blobs they name, so a teammate's revert is restored instead of re-run (the python3
  shim of test_pipeline counts executions). An entry whose objects the remote lacks, one that
  disagrees with its run's record, and a damaged one are skipped on pull, with a note or a
  warning; nothing else is lost. Remote gc keeps what the remote's entries name, and refuses
  to run over a damaged entry; fsck --remote reports it.
"""

import json
import os
import subprocess
import unittest

import test_pipeline as tp
from cairn_testlib import ERROR, OK

class TwoClones(tp.PipelineTestCase):

    def setUp(self):
        super().setUp()
        self.bare = os.path.join(self.tmp, "origin.git")

    def publish(self):
        """Pushes the repository's HEAD to the bare repository (branch main)."""
        self.git_in(self.repo, "push", "-q", self.bare, "HEAD:refs/heads/main")

    def second_clone(self, name="teammate"):
        if not os.path.isdir(self.bare):
            r = subprocess.run(["git", "init", "-q", "--bare", self.bare], env=self.env, capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, self.describe(r))
        self.publish()
        dest = os.path.join(self.tmp, name)
        r = subprocess.run(["git", "clone", "-q", "-b", "main", self.bare, dest], env=self.env, capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, "git clone failed:\n" + self.describe(r))
        return dest

    def remote_entries(self):
        d = os.path.join(self.remote, "refs", "runcache")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def local_entries(self, where):
        d = os.path.join(where, ".cairn", "refs", "runcache")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def run_ids(self, cwd):
        return {r["id"] for r in self.pipeline_runs(cwd=cwd)}

    def k5_then_k3(self):
        """Repro at k=5 (committed), then at k=3 (committed). Returns (k5 commit, k5 digests, k3 digests)."""
        self.setup_example(remote=True)
        self.assertEqual(self.outcomes(self.repro()), {s: "ran" for s in tp.STAGES})
        k5_commit = self.commit(message="k=5")
        k5 = self.digests()
        self.k5_runs = self.lock_run_ids()
        self.set_param_k(3)
        self.assertEqual(self.outcomes(self.repro()), {"prepare": "up-to-date", "train": "ran", "evaluate": "ran"})
        self.commit(message="k=3")
        return k5_commit, k5, self.digests()


class LockRunsTravelByDefault(TwoClones):

    def test_push_and_pull_carry_the_runs_the_lock_names(self):
        code_commit = self.setup_example(remote=True)
        report = self.repro()
        runs = {e["stage"]: e["run"] for e in report}
        self.commit(message="repro")
        # A run the lock does not name: it stays here without --runs.
        self.ok("run", "-e", "scratch", "--", "true")
        other = self.json("runs", "-e", "scratch")[0]["id"]

        pushed = self.json("push")
        self.assertEqual(pushed["runs"], 3, pushed)
        self.assertEqual(pushed["run_cache"], 0, "a push without --runs sent run-cache entries")
        self.assertEqual(self.remote_entries(), [])

        clone = self.second_clone()
        pulled = self.json("pull", cwd=clone)
        self.assertEqual(pulled["runs"], 3, pulled)
        self.assertEqual(pulled["notes"], [])
        self.assertEqual(self.run_ids(clone), set(runs.values()))
        r = self.cairn("runs", "-e", "scratch", "--json", cwd=clone)
        self.assertFalse(r.returncode == OK and other in r.stdout, "a run cairn.lock does not name was pulled")

        text = self.ok("lineage", "models/model.json", "--up", cwd=clone).stdout
        self.assertNotIn("raw (no run produced it)", text.splitlines()[0], text)
        self.assertIn("data/raw@%s" % self.raw_version.split(":")[1][:12], text)
        graph = self.lineage_json("models/model.json", "--up", "--format", "json", cwd=clone)
        nodes = {n["id"]: n for n in graph["nodes"]}
        train = nodes["run:" + runs["train"]]["attrs"]
        # From the run record, not only from cairn.lock: status and code commit are known.
        self.assertEqual(train.get("status"), "FINISHED", train)
        self.assertTrue(train.get("commit", "").startswith(code_commit), train)
        self.assertIn("run:" + runs["prepare"], nodes)
        edges = {(e["from"], e["to"]) for e in graph["edges"]}
        self.assertIn(("run:" + runs["train"], graph["root"]), edges)

        # The other run needs --runs.
        self.assertEqual(self.json("push", "--runs")["runs"], 1)
        self.assertEqual(self.json("pull", "--runs", cwd=clone)["runs"], 1)
        self.assertEqual(self.json("runs", "-e", "scratch", cwd=clone)[0]["id"], other)

    def test_pull_notes_lock_runs_the_remote_lacks(self):
        self.setup_example(remote=True)
        runs = {e["stage"]: e["run"] for e in self.repro()}
        self.commit(message="repro")
        self.assertEqual(self.json("push", "--no-lock-runs")["runs"], 0)
        clone = self.second_clone()
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        for run in runs.values():
            self.assertIn("cairn: note: run %s, which cairn.lock names, is not on the remote" % run, r.stderr)
        self.assertEqual(self.digests(where=clone), self.digests())
        self.assertEqual(self.pipeline_runs(cwd=clone), [])
        # Pushed later, they come with the next plain pull.
        self.assertEqual(self.json("push")["runs"], 3)
        pulled = self.json("pull", cwd=clone)
        self.assertEqual((pulled["runs"], pulled["notes"]), (3, []))

    def test_a_targeted_push_does_not_carry_lock_runs(self):
        self.setup_example(remote=True)
        self.repro()
        self.commit(message="repro")
        self.assertEqual(self.json("push", "data/raw")["runs"], 0)


class RunCacheTravelsWithRuns(TwoClones):

    def test_a_teammates_revert_is_restored_from_the_cache(self):
        k5_commit, k5, k3 = self.k5_then_k3()
        pushed = self.json("push", "--runs")
        self.assertEqual(pushed["run_cache"], 5, pushed)  # prepare, train and evaluate at k=5, both at k=3
        self.assertEqual(len(self.remote_entries()), 5)
        self.assertEqual(self.json("push", "--runs")["run_cache"], 0, "entries were sent twice")

        # Without --runs the entries stay on the remote: the revert runs train again.
        plain = self.second_clone("plain")
        self.json("pull", cwd=plain)
        self.assertEqual(self.local_entries(plain), [])

        clone = self.second_clone()
        pulled = self.json("pull", "--runs", cwd=clone)
        self.assertEqual(pulled["run_cache"], 5, pulled)
        self.assertEqual((pulled["warnings"], pulled["notes"]), ([], []))
        self.assertEqual(self.local_entries(clone), self.local_entries(self.repo))
        self.assertEqual(self.digests(where=clone), k3)

        executed = len(self.executions())
        self.git_in(clone, "checkout", k5_commit, "--", "params.yaml")  # the teammate's revert
        report = self.repro(cwd=clone)
        self.assertEqual(self.outcomes(report), {"prepare": "up-to-date", "train": "restored",
                                                 "evaluate": "restored"}, report)
        self.assertEqual(len(self.executions()), executed, "a stage ran instead of being restored")
        self.assertEqual(self.digests(where=clone), k5, "restored outputs differ from the k=5 ones")
        self.assertEqual(self.lock_run_ids(clone), self.k5_runs)

        self.git_in(plain, "checkout", k5_commit, "--", "params.yaml")
        self.assertEqual(self.outcomes(self.repro(cwd=plain))["train"], "ran")
        self.assertEqual(self.digests(where=plain), k5)

    def write_remote_entry(self, key, text):
        d = os.path.join(self.remote, "refs", "runcache")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, key), "w") as f:
            f.write(text)

    def read_remote_entry(self, key):
        with open(os.path.join(self.remote, "refs", "runcache", key)) as f:
            return f.read()

    def train_entries(self):
        """{k: key hex} of train's run-cache entries (their runs' cairn.run_cache_key tags)."""
        out = {}
        for r in self.pipeline_runs():
            if r["name"] == "train":
                out[r["params"]["train.k"]] = r["tags"]["cairn.run_cache_key"]
        return out

    def test_an_entry_naming_objects_the_remote_lacks_is_not_written(self):
        self.k5_then_k3()
        self.json("push", "--runs")
        entries = self.train_entries()
        text = self.read_remote_entry(entries["5"])
        missing = "sha256:" + "ab" * 32
        forged = "\n".join(l if not l.startswith("out ") else l.rsplit(" ", 1)[0] + " " + missing
                           for l in text.splitlines()) + "\n"
        fake_key = "cd" * 32
        self.write_remote_entry(fake_key, forged)
        clone = self.second_clone()
        r = self.cairn("pull", "--runs", "--json", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("cairn: note: run-cache entry", r.stderr)
        self.assertIn("is not on the remote", r.stderr)
        report = json.loads(r.stdout)
        self.assertEqual(report["run_cache"], 5)
        self.assertNotIn(fake_key, self.local_entries(clone))
        self.assertIn(entries["5"], self.local_entries(clone))

    def test_an_entry_that_disagrees_with_its_run_is_refused(self):
        """A lying remote: train's k=5 entry names the k=3 model. Restoring it would be wrong."""
        k5_commit, k5, k3 = self.k5_then_k3()
        self.json("push", "--runs")
        entries = self.train_entries()
        k3_text = self.read_remote_entry(entries["3"])
        k5_text = self.read_remote_entry(entries["5"])
        lie = k5_text.split("\nout ")[0] + "\nout " + k3_text.split("\nout ")[1]
        self.assertNotEqual(lie, k5_text)
        self.write_remote_entry(entries["5"], lie)

        clone = self.second_clone()
        r = self.cairn("pull", "--runs", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("cairn: warning: run-cache entry %s" % entries["5"][:12], r.stderr)
        self.assertIn("it names other outputs than its run made", r.stderr)
        self.assertNotIn(entries["5"], self.local_entries(clone))
        executed = len(self.executions())
        self.git_in(clone, "checkout", k5_commit, "--", "params.yaml")
        self.assertEqual(self.outcomes(self.repro(cwd=clone))["train"], "ran")
        self.assertIn("train.py", self.executions()[executed:])
        self.assertEqual(self.digests(where=clone), k5)

    def test_a_damaged_entry_is_a_warning_and_loses_nothing(self):
        k5_commit, k5, k3 = self.k5_then_k3()
        self.json("push", "--runs")
        entries = self.train_entries()
        self.write_remote_entry(entries["5"], "cairn-runcache 1\nrun zz\nout ../../etc/passwd sha256:%s\n" % ("0" * 64))
        clone = self.second_clone()
        r = self.cairn("pull", "--runs", "--json", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("cairn: warning: run-cache entry refs/runcache/%s" % entries["5"], r.stderr)
        self.assertIn("is damaged", r.stderr)
        report = json.loads(r.stdout)
        self.assertEqual(report["run_cache"], 4)
        self.assertEqual(len(self.pipeline_runs(cwd=clone)), 5)
        self.assertEqual(self.digests(where=clone), k3)
        self.assertNotIn(entries["5"], self.local_entries(clone))

        # fsck names it; gc refuses to decide what to keep without it, and removes nothing.
        r = self.cairn("fsck", "--remote", "origin")
        self.assertNotEqual(r.returncode, OK, self.describe(r))
        self.assertIn(entries["5"], r.stdout + r.stderr)
        before = self.tree_snapshot(self.remote)
        r = self.cairn("gc", "--remote", "origin", "--grace", "0", "--apply", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("is damaged", r.stderr)
        self.assertEqual(self.tree_snapshot(self.remote), before)

    GEN = (
        "import hashlib, os, sys\n"
        "os.makedirs('out', exist_ok=True)\n"
        "with open('out/data.bin', 'wb') as f:\n"
        "    for i in range(2048):\n"
        "        f.write(hashlib.shake_256(('%s:%d' % (sys.argv[1], i)).encode()).digest(1024))\n")

    def test_remote_gc_keeps_what_the_remotes_entries_name(self):
        """seed=2's output (2 MiB, incompressible, in a pack of its own) is named only by a
        run-cache entry: it was never committed. Remote gc from a clone without runs or entries
        of its own must keep it, so a third clone's seed=2 is restored."""
        self.write("gen.py", self.GEN)
        self.write("params.yaml", "seed: 1\n")
        self.write_yaml("""
            params: params.yaml
            stages:
              gen:
                cmd: python3 gen.py ${seed}
                deps: [gen.py]
                params: [seed]
                outs: [out]
            """)
        os.mkdir(self.remote)
        self.ok("remote", "add", "origin", self.remote, "-d")
        self.commit(message="gen")
        self.assertEqual(self.outcomes(self.repro()), {"gen": "ran"})
        self.commit(message="seed 1")
        self.json("push", "--runs")
        self.write("params.yaml", "seed: 2\n")
        self.assertEqual(self.outcomes(self.repro()), {"gen": "ran"})
        seed2 = self.digests(["out/data.bin"])
        self.write("params.yaml", "seed: 1\n")
        self.assertEqual(self.outcomes(self.repro()), {"gen": "restored"})
        self.assertEqual(self.json("push", "--runs")["run_cache"], 1)

        collector = self.second_clone("collector")
        self.json("pull", cwd=collector)
        self.json("gc", "--remote", "origin", "--grace", "0", "--keep-days", "0", "--apply", cwd=collector)

        clone = self.second_clone()
        pulled = self.json("pull", "--runs", cwd=clone)
        self.assertEqual((pulled["run_cache"], pulled["notes"]), (2, []), pulled)
        executed = len(self.executions())
        with open(os.path.join(clone, "params.yaml"), "w") as f:
            f.write("seed: 2\n")
        self.assertEqual(self.outcomes(self.repro(cwd=clone)), {"gen": "restored"})
        self.assertEqual(len(self.executions()), executed)
        self.assertEqual(self.digests(["out/data.bin"], where=clone), seed2)

if __name__ == "__main__":
    unittest.main()
