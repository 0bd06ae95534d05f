"""The tracking commands' JSON shapes (doc/json.md, "Tracking") and the CI gate of `cairn runs`:
a gate counts only FINISHED runs unless --status says otherwise, and a filter naming a key no run
has warns instead of silently matching nothing."""

import json
import unittest

from cairn_testlib import ERROR, NEGATIVE, OK
from test_tracking import TrackingTestCase


class JsonShapes(TrackingTestCase):

    def test_non_finite_metric_values_follow_doc_json(self):
        rid = self.new_run(script="cairn runs log --metric n=nan --metric p=inf --metric m=-inf --metric x=0.5")
        metrics = self.show(rid)["metrics"]
        self.assertEqual({k: v["value"] for k, v in metrics.items()},
                         {"n": "NaN", "p": "Infinity", "m": "-Infinity", "x": 0.5})
        self.assertEqual(list(metrics["x"]), ["value", "step", "timestamp"])
        self.assertEqual([p["value"] for p in self.history(rid, "p")], ["Infinity"])
        self.assertEqual([(p["key"], p["step"]) for p in self.history(rid, "x")], [("x", 0)])
        # The text output keeps its short forms.
        self.assertIn("n = nan", self.ok("runs", "show", rid).stdout)

    def test_run_summary_has_command_and_full_adds_the_rest(self):
        rid = self.new_run("-n", "one")
        summary = self.runs()[0]
        self.assertEqual(list(summary), ["id", "name", "experiment", "experiment_id", "status", "start_time",
                                         "end_time", "user", "deleted", "exit_code", "command", "params", "tags",
                                         "metrics"])
        self.assertIn("sh ", summary["command"])
        full = self.show(rid)
        for key in ("cwd", "inputs", "artifacts", "env", "record"):
            self.assertIn(key, full)
        self.assertEqual({k: full[k] for k in summary}, summary)

    def test_compare_counts_hidden_rows(self):
        a = self.new_run("-p", "k=3")
        b = self.new_run("-p", "k=5")
        c = self.json("runs", "compare", a, b)
        self.assertEqual(c["runs"], [a, b])
        self.assertGreater(c["hidden_rows"], 0)
        self.assertFalse([r for r in c["rows"] if r["section"] == "env" and not r["differs"]])
        full = self.json("runs", "compare", a, b, "--all")
        self.assertEqual(full["hidden_rows"], 0)
        self.assertEqual(len(full["rows"]), len(c["rows"]) + c["hidden_rows"])
        self.assertIn(c["hidden_rows"], [int(w) for w in
                                         self.ok("runs", "compare", a, b).stdout.split() if w.isdigit()])

    def test_experiments_and_artifacts_json(self):
        rid = self.new_run("-e", "wine")
        exps = {e["name"]: e for e in self.json("experiments")}
        self.assertEqual(list(exps["wine"]), ["id", "name", "runs", "deleted", "created", "tags"])
        self.assertEqual(exps["wine"]["runs"], 1)
        arts = self.json("artifacts", "list", rid)
        self.assertEqual(arts, self.show(rid)["artifacts"])
        self.assertTrue(all(list(a) == ["path", "oid", "size"] for a in arts))


class Gate(TrackingTestCase):
    """The README's promotion gate: `cairn runs -e wine --where ... --limit 1 --exit-code`."""

    GATE = ("runs", "-e", "wine", "--where", "metrics.accuracy >= 0.99", "--limit", "1", "--exit-code")

    def failed_run(self):
        r, rid = self.run_cmd("-e", "wine", "--", "sh", "-c", "cairn runs log --metric accuracy=0.995; exit 3",
                              code=3)
        self.assertEqual(self.show(rid)["status"], "FAILED")
        return rid

    def test_gate_ignores_a_failed_run(self):
        self.failed_run()
        r = self.cairn(*self.GATE)
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        r = self.cairn(*self.GATE, "--json")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertEqual(json.loads(r.stdout), [])

    def test_gate_passes_on_a_finished_run_behind_a_newer_failed_one(self):
        good = self.new_run("-e", "wine", script="cairn runs log --metric accuracy=0.991")
        self.failed_run()
        r = self.cairn(*self.GATE, "--json")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual([x["id"] for x in json.loads(r.stdout)], [good])

    def test_status_option_chooses_what_counts(self):
        bad = self.failed_run()
        r = self.cairn(*self.GATE, "--status", "FAILED", "--json")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual([x["id"] for x in json.loads(r.stdout)], [bad])
        r = self.cairn(*self.GATE, "--status", "any")
        self.assertEqual(r.returncode, OK, self.describe(r))
        r = self.cairn(*self.GATE, "--status", "finished", "--status", "killed")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        # A listing without --exit-code shows every status, as before; --status narrows it.
        self.assertEqual([x["id"] for x in self.runs("-e", "wine")], [bad])
        self.assertEqual(self.runs("-e", "wine", "--status", "FINISHED"), [])

    def test_bad_status_is_an_error(self):
        self.failed_run()
        r = self.fails(*self.GATE, "--status", "DONE", msg="--status 'DONE' is not a run status", hint="FINISHED")
        self.assertEqual(r.returncode, ERROR)
        self.assertEqual(r.stdout, "")

    def test_misspelt_key_warns_instead_of_matching_nothing_silently(self):
        self.new_run("-e", "wine", script="cairn runs log --metric accuracy=0.995 --param lr=0.1")
        r = self.cairn("runs", "-e", "wine", "--where", "metrics.acuracy >= 0.99", "--limit", "1", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("cairn: warning: ", r.stderr)
        self.assertIn("metrics.acuracy", r.stderr)
        # --json keeps stdout a JSON document; the warning goes to stderr.
        r = self.cairn("runs", "--where", "params.lr = '0.1' and tags.nope = 'x'", "--json")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual(json.loads(r.stdout), [])
        self.assertIn("tags.nope", r.stderr)
        self.assertNotIn("params.lr", r.stderr)
        # Keys that exist: no warning.
        r = self.cairn(*self.GATE)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertNotIn("warning", r.stderr)

    def test_filter_errors_keep_their_columns_under_the_gate(self):
        self.failed_run()
        self.fails("runs", "--where", "metrics.acc >", "--exit-code", msg="column 14")


if __name__ == "__main__":
    unittest.main()
