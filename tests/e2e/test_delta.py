"""cairn delta A B: the data behind two results. Runs that read two versions of the bundled
patients data directly; a directory dataset of documents and images (the exact files listed);
datasets only one side used; the example pipeline (examples/pipeline), where the train runs
reach data/raw only upstream, through prepare; a dataset ref against a run; bad refs."""

import csv
import json
import os
import unittest

import test_pipeline as tp
from cairn_testlib import CairnTestCase


def run_id(r):
    for line in (r.stderr + r.stdout).splitlines():
        if line.startswith("cairn: run "):
            return line.split()[2]
    raise AssertionError("no run id in:\n" + r.stderr)


class DeltaTest(CairnTestCase):
    def setUp(self):
        super().setUp()
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv", "-m", "v1")
        self.ok("tag", "data/patients.csv", "v1")
        with open(self.path("data/patients.csv"), newline="") as f:
            rows = list(csv.reader(f))
        rows[3][2] = "1" if rows[3][2] == "2" else "2"  # id 3's sex
        del rows[100]                                      # id 100
        with open(self.path("data/patients.csv"), "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        self.ok("add", "data/patients.csv", "-m", "v2")
        self.ok("tag", "data/patients.csv", "v2")
        self.write("docs/a.txt", b"alpha\n")
        self.write("docs/img/x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        self.ok("add", "docs", "-m", "docs v1")
        self.ok("tag", "docs", "v1")
        self.write("docs/a.txt", b"alpha, edited\n")
        self.write("docs/b.txt", b"new\n")
        os.remove(self.path("docs/img/x.png"))
        self.ok("add", "docs", "-m", "docs v2")
        self.ok("tag", "docs", "v2")
        self.commit(message="data")

    def test_two_runs(self):
        a = run_id(self.ok("run", "-i", "data/patients.csv@v1", "-i", "docs@v1", "--", "true"))
        b = run_id(self.ok("run", "-i", "data/patients.csv@v2", "-i", "docs@v2", "--", "true"))
        d = self.json("delta", a, b, "--key", "id")
        self.assertEqual((d["from"]["kind"], d["to"]["kind"]), ("run", "run"))
        by_name = {x["dataset"]: x for x in d["datasets"]}
        self.assertEqual(set(by_name), {"data/patients.csv", "docs"})
        p = by_name["data/patients.csv"]
        self.assertTrue(p["changed"])
        self.assertEqual(p["from"][0]["tags"], "v1")
        self.assertEqual(p["to"][0]["tags"], "v2")
        [t] = p["rows"]
        self.assertEqual((t["rows"]["modified"], t["rows"]["removed"], t["rows"]["added"]), (1, 1, 0))
        mod = [c for c in t["changes"] if c["change"] == "modified"][0]
        self.assertEqual(mod["key"], ["3"])
        self.assertEqual([c["column"] for c in mod["cells"]], ["sex"])
        docs = by_name["docs"]
        self.assertEqual(sorted((f["path"], f["change"]) for f in docs["files"]),
                         [("a.txt", "modified"), ("b.txt", "added"), ("img/x.png", "deleted")])
        self.assertEqual(docs["rows"], [])
        text = self.ok("delta", a, b, "--key", "id").stdout
        self.assertIn("~ id=3", text)
        self.assertIn("D  img/x.png", text)
        # The same versions on both sides (c also had docs@v2 checked out, which a run records):
        # not changed, nothing compared.
        c = run_id(self.ok("run", "-i", "data/patients.csv@v2", "--", "true"))
        d = self.json("delta", b, c)
        self.assertEqual([(x["dataset"], x["changed"]) for x in d["datasets"]],
                         [("data/patients.csv", False), ("docs", False)])
        self.assertEqual(d["only_from"], [])
        # A dataset ref against a run: docs only on the run's side.
        d = self.json("delta", "data/patients.csv@v1", c, "--stat")
        self.assertEqual(d["from"]["kind"], "dataset")
        self.assertEqual([x["dataset"] for x in d["datasets"]], ["data/patients.csv"])
        self.assertEqual(d["datasets"][0]["rows"][0]["rows"]["removed"], 2)  # unkeyed: id 3 and id 100
        self.assertEqual(d["datasets"][0]["rows"][0]["changes"], [])
        self.assertEqual([x["dataset"] for x in d["only_to"]], ["docs"])
        self.fails("delta", "nosuchrun", c)
        self.fails("delta", c, c, msg="nothing to compare")
        self.fails("delta", a, b, "--key", "idd", msg="no changed table has the key")

    def test_a_run_that_read_modified_data_is_not_the_same(self):
        """Both runs name version v2, but b read it edited in the workspace: delta must not call the
        data the same."""
        a = run_id(self.ok("run", "--", "true"))  # records the checked-out versions
        self.append("data/patients.csv", b"999,1,1,1,1,1,1,1,1,1,1,1\n")
        b = run_id(self.ok("run", "--", "true"))
        d = self.json("delta", a, b)
        (p,) = [x for x in d["datasets"] if x["dataset"] == "data/patients.csv"]
        self.assertFalse(p["changed"])
        self.assertTrue(p["unknown"])
        self.assertEqual((p["from"][0]["modified"], p["to"][0]["modified"]), (False, True))
        self.assertIn(b + " read data/patients.csv modified in the workspace", p["note"])
        text = self.ok("delta", a, b).stdout
        self.assertNotIn("the same on both sides: data/patients.csv", text)
        self.assertIn("what it read is not known", text)


class DeltaThroughPipeline(tp.PipelineTestCase):
    def test_train_runs_reach_raw_upstream(self):
        self.setup_example()
        self.repro()
        first = self.lock_run_ids()["train"]
        with open(self.path("data/raw/iris.csv")) as f:
            lines = f.read().splitlines()
        lines[5] = lines[5].replace("5.0,3.6", "5.0,3.9", 1)
        self.write("data/raw/iris.csv", ("\n".join(lines) + "\n").encode())
        self.ok("add", "data/raw", "-m", "fix one flower")
        self.ok("tag", "data/raw", "v2")
        self.repro()
        second = self.lock_run_ids()["train"]
        self.assertNotEqual(first, second)
        d = self.json("delta", first, second)
        by_name = {x["dataset"]: x for x in d["datasets"]}
        raw = by_name["data/raw"]
        self.assertTrue(raw["changed"])
        self.assertEqual(raw["from"][0]["tags"], "v1")
        self.assertEqual(raw["to"][0]["tags"], "v2")
        [t] = raw["rows"]
        self.assertEqual((t["rows"]["added"], t["rows"]["removed"]), (1, 1))
        removed = [c for c in t["changes"] if c["change"] == "removed"][0]
        self.assertEqual(removed["from_line"], 6)
        # Runs that name data/raw@v1 and @v2 themselves, while data/prepared (made from v2) is
        # checked out: each run's own input is compared, not the version reached upstream.
        r1 = self.cairn("run", "-i", "data/raw@v1", "--", "true")
        r2 = self.cairn("run", "-i", "data/raw@v2", "--", "true")
        ids = [l.split()[2] for r in (r1, r2) for l in r.stderr.splitlines() if l.startswith("cairn: run ")][::2]
        d = self.json("delta", ids[0], ids[1])
        raw = {x["dataset"]: x for x in d["datasets"]}["data/raw"]
        self.assertTrue(raw["changed"])
        self.assertEqual(raw["from"][0]["tags"], "v1")


if __name__ == "__main__":
    unittest.main()
