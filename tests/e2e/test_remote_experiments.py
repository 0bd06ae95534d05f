"""Runs moved between clones (push/fetch --runs) and their experiments
(doc/tracking.md, "Runs across clones"): a run's id is the same in every
clone; experiment ids are each repository's own, so a fetched run joins the
experiment of its name, under that clone's id, and its artifact_uri (made
from the experiment id) may differ between clones.
"""

import subprocess
import unittest

from test_python_api import PYTHON
from test_remote import RemoteTestCase


class ExperimentsAcrossClones(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.write("README", "two clones\n")
        self.commit(message="initial")
        self.other = self.clone()

    def run_in(self, where, experiment):
        r = self.cairn("run", "-e", experiment, "--", "true", cwd=where)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return self.json("runs", "-e", experiment, "--limit", "1", cwd=where)[0]["id"]

    def experiment_ids(self, where):
        return {e["name"]: e["id"] for e in self.json("experiments", cwd=where)}

    def artifact_uri(self, where, run_id):
        code = ("import cairn\nprint(cairn.MlflowClient().get_run(%r).info.artifact_uri)\n" % run_id)
        r = subprocess.run([PYTHON, "-c", code], cwd=where, env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return r.stdout.strip()

    def test_run_id_is_kept_and_the_experiment_is_matched_by_name(self):
        # Experiments made in a different order: the same names get different ids.
        self.ok("experiments", "create", "alpha")
        self.ok("experiments", "create", "beta")
        for name in ("beta", "alpha"):
            r = self.cairn("experiments", "create", name, cwd=self.other)
            self.assertEqual(r.returncode, 0, self.describe(r))
        here, there = self.experiment_ids(self.repo), self.experiment_ids(self.other)
        self.assertNotEqual(here["alpha"], there["alpha"])

        mine = self.run_in(self.repo, "alpha")
        theirs = self.run_in(self.other, "alpha")
        self.push("--runs")
        r = self.cairn("push", "--runs", "--json", cwd=self.other)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.fetch("--runs", cwd=self.other)
        self.fetch("--runs")

        for rid in (mine, theirs):
            a = self.json("runs", "show", rid)
            b = self.json("runs", "show", rid, cwd=self.other)
            self.assertEqual(a["id"], b["id"])  # stable: the run id
            self.assertEqual((a["experiment"], b["experiment"]), ("alpha", "alpha"))  # matched by name
            self.assertEqual(a["experiment_id"], here["alpha"])  # each clone's own experiment id
            self.assertEqual(b["experiment_id"], there["alpha"])
            self.assertEqual(a["params"], b["params"])
            self.assertEqual(a["start_time"], b["start_time"])
            # artifact_uri is made from the experiment id: per clone.
            uri_a, uri_b = self.artifact_uri(self.repo, rid), self.artifact_uri(self.other, rid)
            self.assertEqual(uri_a, "mlflow-artifacts:/%d/%s/artifacts" % (here["alpha"], rid))
            self.assertEqual(uri_b, "mlflow-artifacts:/%d/%s/artifacts" % (there["alpha"], rid))
            # Searching by run id finds it in both; by name of the experiment too.
            for where in (self.repo, self.other):
                found = self.json("runs", "--where", "attributes.run_id = '%s'" % rid, cwd=where)
                self.assertEqual([f["id"] for f in found], [rid])
                self.assertIn(rid, [f["id"] for f in self.json("runs", "-e", "alpha", cwd=where)])

    def test_a_fetched_run_creates_its_experiment_under_a_local_id(self):
        self.ok("experiments", "create", "first-here")
        rid = self.run_in(self.repo, "shared")  # the second experiment here
        for name in ("only-there", "also-there"):
            r = self.cairn("experiments", "create", name, cwd=self.other)
            self.assertEqual(r.returncode, 0, self.describe(r))
        self.push("--runs")
        self.fetch("--runs", cwd=self.other)
        here, there = self.experiment_ids(self.repo), self.experiment_ids(self.other)
        self.assertNotEqual(here["shared"], there["shared"])  # the third one there
        run = self.json("runs", "show", rid, cwd=self.other)
        self.assertEqual((run["id"], run["experiment"], run["experiment_id"]), (rid, "shared", there["shared"]))

if __name__ == "__main__":
    unittest.main()
