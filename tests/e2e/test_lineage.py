"""Lineage and its OpenLineage export, end to end, on the example pipeline of
examples/pipeline (see test_pipeline.py for its helpers).

- The OpenLineage export is validated against tests/e2e/openlineage_schema.json (the parts of
  the OpenLineage 2-0-2 spec cairn emits, written from the spec), with `uuid`, `date-time` and
  `uri` checked here since jsonschema checks formats only with optional packages.
- Lineage is built from cairn.lock too: in a fresh clone (git clone + cairn pull, no run
  records) the model's producer is still its stage.
- Lineage reads every run, not the newest 1,000.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import test_pipeline as tp
from cairn_testlib import missing

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "openlineage_schema.json")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
ORIGIN = "https://example.com/team/project.git"


def validate_openlineage(events):
    """Raises unless `events` is valid for the schema (formats included)."""
    try:
        import jsonschema
    except ImportError:
        raise missing("python3-jsonschema is not installed (scripts/bootstrap)")
    with open(SCHEMA) as f:
        schema = json.load(f)
    checker = jsonschema.FormatChecker()

    @checker.checks("uuid")
    def _uuid(value):
        return isinstance(value, str) and bool(UUID_RE.match(value))

    @checker.checks("date-time")
    def _time(value):
        return isinstance(value, str) and bool(TIME_RE.match(value))

    @checker.checks("uri")
    def _uri(value):
        return isinstance(value, str) and bool(URI_RE.match(value))

    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(events)


class OpenLineageExport(tp.PipelineTestCase):

    def export(self, target="models/model.json", cwd=None):
        r = self.ok("lineage", target, "--up", "--format", "openlineage", cwd=cwd)
        events = json.loads(r.stdout)
        validate_openlineage(events)
        return events

    def test_the_schema_rejects_what_cairn_used_to_emit(self):
        # A sourceCodeLocation job facet without its required url, and a bad runId.
        bad = [{"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00.000Z", "producer": "urn:cairn",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": "not-a-uuid"}, "job": {"namespace": "n", "name": "j"}}]
        with self.assertRaises(Exception):
            validate_openlineage(bad)
        bad[0]["run"]["runId"] = "01234567-89ab-cdef-0123-456789abcdef"
        validate_openlineage(bad)
        bad[0]["job"]["facets"] = {"sourceCodeLocation": {"_producer": "urn:cairn", "_schemaURL": "urn:x",
                                                          "type": "git", "version": "abc"}}
        with self.assertRaises(Exception):
            validate_openlineage(bad)

    def test_events_with_a_git_origin(self):
        self.git("remote", "add", "origin", ORIGIN)
        code_commit = self.run_example()
        events = self.export()
        by_run = {}
        for e in events:
            by_run.setdefault(e["run"]["runId"], []).append(e)
        self.assertEqual(set(by_run), {tp.uuid_of(self.runs[s]) for s in ("prepare", "train")})
        for stage in ("prepare", "train"):
            pair = by_run[tp.uuid_of(self.runs[stage])]
            self.assertEqual([e["eventType"] for e in pair], ["START", "COMPLETE"])
            self.assertLessEqual(pair[0]["eventTime"], pair[1]["eventTime"])
            for e in pair:
                self.assertEqual(e["job"]["name"], stage)
                self.assertEqual(e["job"]["namespace"], ORIGIN)
                self.assertNotIn("sourceCodeLocation", e["run"].get("facets", {}), "a run facet")
                location = e["job"]["facets"]["sourceCodeLocation"]
                self.assertEqual((location["type"], location["url"], location["version"]),
                                 ("git", ORIGIN, code_commit))
                for d in e["inputs"] + e["outputs"]:
                    self.assertEqual(d["namespace"], ORIGIN)
            self.assertEqual(pair[0]["outputs"], [])
        train_end = by_run[tp.uuid_of(self.runs["train"])][1]
        self.assertEqual({d["name"] for d in train_end["outputs"]}, {"models/model.json"})
        self.assertEqual({d["name"] for d in train_end["inputs"]}, {"data/prepared", "train.py"})

    def test_events_without_origin_have_no_source_facet_and_a_fixed_namespace(self):
        self.run_example()
        events = self.export()
        self.assertEqual(len(events), 4)
        for e in events:
            self.assertNotIn("sourceCodeLocation", e["job"].get("facets", {}))
            self.assertNotIn("sourceCodeLocation", e["run"].get("facets", {}))
            self.assertEqual(e["job"]["namespace"], "cairn")
        # The namespace does not depend on the directory of the clone.
        moved = os.path.join(self.tmp, "another-name")
        shutil.move(self.repo, moved)
        self.repo = moved
        self.assertEqual(self.export(cwd=moved), events)


class LineageFromTheLock(tp.PipelineTestCase):

    def test_fresh_clone_without_run_records_knows_the_producer(self):
        self.setup_example(remote=True)
        report = self.repro()
        runs = {e["stage"]: e["run"] for e in report}
        self.commit(message="repro")
        self.json("push", "--no-lock-runs")  # data only: the run records stay here
        clone = self.clone()
        self.json("pull", cwd=clone)
        self.assertEqual(self.pipeline_runs(cwd=clone), [], "the clone has run records")

        text = self.ok("lineage", "models/model.json", "--up", cwd=clone).stdout
        first = text.splitlines()[0]
        self.assertNotIn("raw (no run produced it)", first, text)
        self.assertIn("stage train", text)
        self.assertIn("stage prepare", text)
        self.assertIn("from cairn.lock", text)

        graph = self.lineage_json("models/model.json", "--up", "--format", "json", cwd=clone)
        nodes = {n["id"]: n for n in graph["nodes"]}
        self.assertNotIn("origin", nodes[graph["root"]]["attrs"])
        edges = {(e["from"], e["to"]) for e in graph["edges"]}
        self.assertIn(("run:" + runs["train"], graph["root"]), edges)
        train = nodes["run:" + runs["train"]]
        self.assertEqual((train["attrs"]["stage"], train["attrs"]["source"]), ("train", "cairn.lock"))
        self.assertIn("params.train.k", train["attrs"])
        # Up through prepare to the raw, tagged version.
        raw = [n for n in graph["nodes"] if n["kind"] == "dataset" and n["name"] == "data/raw"]
        self.assertEqual(len(raw), 1, graph["nodes"])
        self.assertEqual(raw[0]["attrs"]["version"], self.raw_version)
        self.assertIn("v1", raw[0]["attrs"].get("tags", ""))
        self.assertIn(("run:" + runs["prepare"], "dataset:data/prepared@" + nodes_version(graph, "data/prepared")),
                      edges)


def nodes_version(graph, name):
    for n in graph["nodes"]:
        if n["kind"] == "dataset" and n["name"] == name:
            return n["attrs"]["version"].split(":", 1)[1]
    raise AssertionError("no dataset node %s" % name)


class LineageReadsEveryRun(tp.PipelineTestCase):

    def test_more_than_a_thousand_runs(self):
        self.copy_example("iris.csv", "data/raw/iris.csv")
        version = self.add1("data/raw")["version"]
        script = (
            "import cairn\n"
            "first = cairn.start_run(name='oldest', experiment='many', inputs=['data/raw@%s'])\n"
            "print(first.id)\n"
            "cairn.end_run()\n"
            "for i in range(1000):\n"
            "    cairn.start_run(name='r%%d' %% i, experiment='many')\n"
            "    cairn.end_run()\n" % version.split(":", 1)[1])
        r = subprocess.run([sys.executable, "-c", script], cwd=self.repo, capture_output=True, text=True,
                           env=dict(self.env, CAIRN_DIR=self.repo), timeout=600)
        self.assertEqual(r.returncode, 0, self.describe(r))
        oldest = r.stdout.split()[0]
        graph = self.lineage_json("data/raw@" + version.split(":", 1)[1], "--down", "--format", "json")
        self.assertIn("run:" + oldest, {n["id"] for n in graph["nodes"]},
                      "the oldest of 1,001 runs is missing from the lineage")


class LineageRunAttributes(tp.PipelineTestCase):

    def test_commit_dirty_and_metrics_are_exact(self):
        self.copy_example("iris.csv", "data/raw/iris.csv")
        version = self.add1("data/raw")["version"].split(":", 1)[1]
        self.commit(message="data")
        head = self.git("rev-parse", "HEAD").stdout.strip()
        self.write("notes.txt", "uncommitted\n")  # the work tree differs from HEAD
        script = (
            "import cairn\n"
            "run = cairn.start_run(name='exact', inputs=['data/raw@%s'])\n"
            "cairn.log_metric('acc', 0.9649122807017544)\n"
            "print(run.id)\n"
            "cairn.end_run()\n" % version)
        r = subprocess.run([sys.executable, "-c", script], cwd=self.repo, capture_output=True, text=True,
                           env=dict(self.env, CAIRN_DIR=self.repo), timeout=120)
        self.assertEqual(r.returncode, 0, self.describe(r))
        run = r.stdout.split()[0]
        graph = self.lineage_json(run, "--format", "json")
        attrs = next(n["attrs"] for n in graph["nodes"] if n["id"] == "run:" + run)
        self.assertEqual(attrs["commit"], head)
        self.assertEqual(attrs["dirty"], "true")
        self.assertEqual(float(attrs["metrics.acc"]), 0.9649122807017544)
        self.assertEqual(attrs["metrics.acc"], "0.9649122807017544")
        text = self.ok("lineage", run).stdout
        self.assertIn("commit %s (dirty)" % head[:12], text)


if __name__ == "__main__":
    unittest.main()
