"""cairn.data, the Python face of the data commands: diff_rows, delta, profile, validate and
drift called from real Python child processes on the bundled patient records, each compared
with the CLI's --json for the same question (the same dict, the same library), plus the
errors they raise."""

import json
import unittest

from test_delta import run_id
from test_python_api import PythonApiTestCase

# A patient's record changes and one is added; columns as in examples/data/patients.csv.
EDIT = r"""
import csv
rows = list(csv.reader(open("data/patients.csv")))
rows[3][3] = "0.0999"          # bmi of the third patient
rows.append(["443"] + rows[5][1:])
csv.writer(open("data/patients.csv", "w", newline="")).writerows(rows)
"""


class PythonDataTest(PythonApiTestCase):
    def setUp(self):
        super().setUp()
        self.init_repo()
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv", "-m", "cohort 1")
        self.ok("tag", "data/patients.csv", "v1")

    def header(self):
        return self.read("data/patients.csv").decode().splitlines()[0].split(",")

    def second_version(self):
        self.py(EDIT)
        self.ok("add", "data/patients.csv", "-m", "cohort 2")
        self.ok("tag", "data/patients.csv", "v2")

    def test_diff_rows_is_the_cli_json(self):
        self.second_version()
        key = self.header()[0]
        got = self.pyjson("""
            out(cairn.data.diff_rows("data/patients.csv@v1", "data/patients.csv@v2", key=%r))
        """ % key)
        want = self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", key)
        self.assertEqual(got, want)
        rows = got["tables"][0]["rows"]
        self.assertEqual((rows["added"], rows["removed"], rows["modified"]), (1, 0, 1))
        # Options: counts only, a column list given as a list, a workspace comparison (to_ref None).
        stat = self.pyjson("""
            out(cairn.data.diff_rows("data/patients.csv@v1", "data/patients.csv@v2", key=[%r], stat=True,
                                     columns=["bmi"]))
        """ % key)
        self.assertEqual(stat, self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows",
                                         "--key", key, "--stat", "--columns", "bmi"))
        self.assertEqual(stat["tables"][0]["rows"]["modified"], 1)
        self.py(EDIT)
        ws = self.pyjson("""out(cairn.data.diff_rows("data/patients.csv@v2", key=%r, stat=True))""" % key)
        self.assertEqual(ws, self.json("diff", "data/patients.csv@v2", "--rows", "--key", key, "--stat"))
        self.assertEqual(ws["tables"][0]["rows"]["added"], 1)

    def test_profile_validate_drift_match_the_cli(self):
        prof = self.pyjson("""out(cairn.data.profile("data/patients.csv@v1", columns="age,bmi"))""")
        self.assertTrue(prof["tables"][0]["computed"])
        cli = self.json("profile", "data/patients.csv@v1", "--column", "age", "--column", "bmi")
        self.assertFalse(cli["tables"][0]["computed"])
        for report in (prof, cli):
            for t in report["tables"]:
                t.pop("computed")  # the first to ask computes it; the second reads it back
        self.assertEqual(prof, cli)
        self.assertEqual([c["name"] for c in prof["tables"][0]["profile"]["columns"]], ["age", "bmi"])
        self.write("suites/p.yaml", "expectations:\n"
                   "  - expect_column_values_to_be_between: {column: age, min_value: 0, max_value: 0.05}\n")
        v = self.pyjson("""out(cairn.data.validate("data/patients.csv@v1", "suites/p.yaml", store=False))""")
        r = self.cairn("validate", "data/patients.csv@v1", "--suite", "suites/p.yaml", "--format", "json",
                       "--no-store")
        self.assertEqual(r.returncode, 1, self.describe(r))
        self.assertEqual(v, json.loads(r.stdout))
        self.assertFalse(v["success"])
        self.second_version()
        d = self.pyjson("""out(cairn.data.drift("data/patients.csv@v1", "data/patients.csv@v2", method="ks"))""")
        r = self.cairn("drift", "data/patients.csv@v1", "data/patients.csv@v2", "--method", "ks", "--json")
        self.assertEqual(d, json.loads(r.stdout))
        self.assertFalse(d["drifted"])  # one changed cell and one added row in 443

    def test_delta_between_two_runs(self):
        a = run_id(self.ok("run", "-i", "data/patients.csv@v1", "--", "true"))
        self.second_version()
        b = run_id(self.ok("run", "-i", "data/patients.csv@v2", "--", "true"))
        got = self.pyjson("""out(cairn.data.delta(%r, %r, key="id", stat=True))""" % (a, b))
        self.assertEqual(got, self.json("delta", a, b, "--key", "id", "--stat"))
        self.assertEqual(len(got["datasets"]), 1)

    def test_errors_raise_cairn_error(self):
        self.py(EDIT)  # the workspace differs from v1
        got = self.pyjson("""
            msgs = []
            for call in (lambda: cairn.data.diff_rows("data/patients.csv@v1", "data/patients.csv@v1"),
                         lambda: cairn.data.diff_rows("data/patients.csv@v1", "data/patients.csv", key="nope"),
                         lambda: cairn.data.diff_rows("data/patients.csv@v1", limit=-1),
                         lambda: cairn.data.profile("data/none@v9"),
                         lambda: cairn.data.validate("data/patients.csv", "missing.yaml"),
                         lambda: cairn.data.drift("data/patients.csv", "data/patients.csv", method="magic"),
                         lambda: cairn.data.diff_rows("data/patients.csv@v1", key=[1]),
                         lambda: cairn.data.validate("data/patients.csv", "s.yaml\\x00junk"),
                         lambda: cairn.data.validate("data/patients.csv", "s.yaml", store="no"),
                         lambda: cairn.data.diff_rows("data/patients.csv@v1", key="id", tolerance="x"),
                         lambda: cairn.data.drift("data/patients.csv", "data/patients.csv", threshold=10**400),
                         lambda: cairn.data.delta(None, "data/patients.csv@v1")):
                try:
                    call()
                    msgs.append(None)
                except cairn.CairnError as e:
                    msgs.append(str(e))
            out(msgs)
        """)
        self.assertNotIn(None, got)
        self.assertIn("the same version", got[0])
        self.assertIn("'nope' is not a column", got[1])
        self.assertIn("--limit must be 0 or more", got[2])
        self.assertIn("data/none", got[3])
        self.assertIn("missing.yaml", got[4])
        self.assertIn("unknown method 'magic'", got[5])
        self.assertIn("key must be a str or a list of str", got[6])
        self.assertIn("suite holds a NUL character", got[7])
        self.assertIn("store must be True or False", got[8])
        self.assertIn("tolerance must be a number", got[9])
        self.assertIn("threshold is too large", got[10])
        self.assertIn("a must be a str or a path, not None", got[11])


if __name__ == "__main__":
    unittest.main()
