"""`cairn validate` end to end on the bundled data in a real repository: a passing suite, a failing
one whose unexpected counts, values and rows are computed independently with pandas (Debian's
/usr/bin/python3; under CI=true a missing pandas fails instead of skipping), the JUnit report
parsed with xml.etree, the --infer round trip (the proposed suite passes on its data), suite
errors at file:line:column (exit 2), a directory dataset with a non-tabular file, and a pipeline
stage whose input fails its suite, refused before its command runs."""

import json
import os
import subprocess
import unittest
import xml.etree.ElementTree as ET

from cairn_testlib import ERROR, NEGATIVE, OK, CairnTestCase, missing

SYSTEM_PYTHON = "/usr/bin/python3"

# The failing suite on iris.csv, whose first line is a shape header (150,4,setosa,versicolor,
# virginica) that the reader takes as a data row: columns column_1 … column_5.
FAILING = """\
expectation_suite_name: iris-strict
expectations:
  - expect_column_values_to_be_between: {column: column_1, min_value: 4.5, max_value: 7.5}
  - expect_column_values_to_be_in_set: {column: column_5, value_set: [0, 1, 2]}
  - expect_column_values_to_be_unique: {column: column_1, mostly: 0.5}
  - expectation_type: expect_column_values_to_match_regex
    kwargs: {column: column_3, regex: "^[0-9]+\\\\.[0-9]$"}
  - expect_column_mean_to_be_between: {column: column_2, min_value: 3.1}
  - expect_table_row_count_to_be_between: {min_value: 100, max_value: 200}
"""

# pandas' view of the same expectations: the unexpected 0-based indexes and values, or the
# observed value. Prints JSON.
REFERENCE = r'''
import json, re, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], header=None, dtype=str, keep_default_na=True)
num = lambda c: pd.to_numeric(df[c], errors="coerce")
def listed(mask, col):
    idx = [int(i) for i in df.index[mask]]
    return {"count": len(idx), "rows": [i + 1 for i in idx][:20], "values": [df[col][i] for i in idx][:20]}
c1 = num(0)
out = {
  "between": listed(df[0].notna() & ~((c1 >= 4.5) & (c1 <= 7.5)), 0),
  "in_set": listed(df[4].notna() & ~num(4).isin([0, 1, 2]), 4),
  "unique": listed(c1.notna() & c1.duplicated(keep=False), 0),
  "regex": listed(df[2].notna() & ~df[2].str.contains(r"^[0-9]+\.[0-9]$", regex=True), 2),
  "mean": float(num(1).mean()),
  "rows": len(df),
  "nonnull": int(df[0].notna().sum()),
}
print(json.dumps(out))
'''


def has_pandas():
    return os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import pandas"], capture_output=True).returncode == 0


class ValidateTest(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.copy_example("iris.csv", "data/iris.csv")
        self.copy_example("linnerud_physiological.csv", "data/linnerud.csv")
        self.ok("add", "data/iris.csv")
        self.ok("tag", "data/iris.csv", "v1")
        self.ok("add", "data/linnerud.csv")

    def validate(self, *args, code=OK):
        r = self.cairn("validate", *args)
        self.assertEqual(r.returncode, code, self.describe(r))
        return r

    def report(self, *args, code=OK):
        return json.loads(self.validate(*args, "--format", "json", code=code).stdout)

    def pandas(self, path):
        if not has_pandas():
            raise missing("pandas for %s (Debian's python3-pandas)" % SYSTEM_PYTHON)
        r = subprocess.run([SYSTEM_PYTHON, "-c", REFERENCE, path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_passing_suite(self):
        self.write("suites/linnerud.yaml", """\
expectations:
  - expect_table_columns_to_match_ordered_list: {column_list: [Weight, Waist, Pulse]}
  - expect_table_columns_to_match_set: {column_set: [Pulse, Weight], exact_match: false}
  - expect_table_row_count_to_be_between: {min_value: 20, max_value: 20}
  - expect_column_values_to_not_be_null: {column: Weight}
  - expect_column_values_to_be_between: {column: Weight, min_value: 100, max_value: 300}
  - expect_column_values_to_be_of_type: {column: Pulse, type_: int64}
  - expect_column_mean_to_be_between: {column: Waist, min_value: 30, max_value: 40}
  - expect_column_median_to_be_between: {column: Pulse, min_value: 40, max_value: 80}
  - expect_column_stdev_to_be_between: {column: Weight, min_value: 1}
  - expect_column_min_to_be_between: {column: Pulse, min_value: 40}
  - expect_column_max_to_be_between: {column: Waist, max_value: 50}
  - expect_compound_columns_to_be_unique: {column_list: [Weight, Waist, Pulse]}
""")
        r = self.validate("data/linnerud.csv", "--suite", "suites/linnerud.yaml")
        self.assertIn("PASSED: 12 of 12 expectations passed (100%)", r.stdout)
        report = self.report("data/linnerud.csv", "--suite", "suites/linnerud.yaml")
        self.assertTrue(report["success"])
        self.assertEqual(report["statistics"], {"evaluated_expectations": 12, "successful_expectations": 12,
                                                "unsuccessful_expectations": 0, "success_percent": 100.0})
        self.assertEqual(report["files"][0]["rows"], 20)
        blob = self.sha("data/linnerud.csv")
        self.assertEqual(report["files"][0]["blob"], "sha256:" + blob)
        # The result is kept beside the blob, keyed by the suite's digest and the format it was read as.
        digest = report["suite"]["digest"]
        self.assertRegex(digest, "^[0-9a-f]{64}$")
        self.assertRegex(report["files"][0]["object"], "^sha256:[0-9a-f]{64}$")
        ref = os.path.join(self.cairn_dir, "refs", "derived", "validation", blob, digest + ".csv")
        self.assertTrue(os.path.exists(ref), ref)
        self.fsck_clean()
        # The same checks written otherwise have the same digest; --no-store writes nothing.
        self.write("suites/other.yaml", "# comment\nexpectation_suite_name: x\n" +
                   self.read("suites/linnerud.yaml").decode().replace("{column: Weight}", "{column: Weight, meta: {a: 1}}"))
        other = self.report("data/linnerud.csv", "--suite", "suites/other.yaml", "--no-store")
        self.assertEqual(other["suite"]["digest"], digest)
        self.assertIsNone(other["files"][0]["object"])

    def test_failing_suite_counts_match_pandas(self):
        self.write("suites/iris.yaml", FAILING)
        expected = self.pandas(self.path("data/iris.csv"))
        for ref in ("data/iris.csv", "data/iris.csv@v1"):
            report = self.report(ref, "--suite", "suites/iris.yaml", code=NEGATIVE)
            self.assertFalse(report["success"])
            results = report["files"][0]["results"]
            self.assertEqual(len(results), 6)
            for i, key in enumerate(["between", "in_set", "unique", "regex"]):
                res = results[i]["result"]
                self.assertEqual(res["unexpected_count"], expected[key]["count"], key)
                self.assertEqual(res["partial_unexpected_rows"], expected[key]["rows"], key)
                self.assertEqual(res["partial_unexpected_list"], expected[key]["values"], key)
                self.assertEqual(res["element_count"], expected["rows"])
                self.assertAlmostEqual(res["unexpected_percent"], 100.0 * expected[key]["count"] / expected["nonnull"])
                # Data rows start on line 1: the first line is data, not a header.
                self.assertEqual(res["partial_unexpected_lines"], expected[key]["rows"], key)
            self.assertGreater(expected["between"]["count"], 0)
            self.assertEqual(expected["in_set"], {"count": 1, "rows": [1], "values": ["virginica"]})
            self.assertEqual(expected["regex"]["values"][0], "setosa")
            # unique with mostly 0.5: most values repeat, so it fails.
            self.assertFalse(results[2]["success"])
            self.assertGreater(expected["unique"]["count"], expected["nonnull"] / 2)
            self.assertEqual([r["success"] for r in results], [False, False, False, False, False, True])
            self.assertAlmostEqual(results[4]["result"]["observed_value"], expected["mean"], places=12)
            self.assertEqual(results[5]["result"]["observed_value"], expected["rows"])
            self.assertEqual(report["statistics"]["unsuccessful_expectations"], 5)
        # The text names each failure with its counts and first rows.
        r = self.validate("data/iris.csv", "--suite", "suites/iris.yaml", code=NEGATIVE)
        self.assertIn("FAIL  expect_column_values_to_be_in_set(column_5): 1 unexpected of 151 values", r.stdout)
        self.assertIn("'virginica' (row 1)", r.stdout)
        self.assertIn("FAILED: 1 of 6 expectations passed", r.stdout)

    def test_junit_report(self):
        self.write("suites/iris.yaml", FAILING)
        expected = self.pandas(self.path("data/iris.csv"))
        r = self.validate("data/iris.csv", "--suite", "suites/iris.yaml", "--format", "junit", "-o", "out.xml",
                          code=NEGATIVE)
        self.assertEqual(r.stdout, "")
        root = ET.parse(self.path("out.xml")).getroot()
        self.assertEqual(root.tag, "testsuites")
        # -o never replaces a file without --force (not even the suite), nor a non-regular one.
        before = self.read("suites/iris.yaml")
        self.fails("validate", "data/iris.csv", "--suite", "suites/iris.yaml", "-o", "suites/iris.yaml",
                   msg="suites/iris.yaml exists: not replaced", hint="--force")
        self.assertEqual(self.read("suites/iris.yaml"), before)
        os.symlink(self.path("suites/iris.yaml"), self.path("link.xml"))
        self.fails("validate", "data/iris.csv", "--suite", "suites/iris.yaml", "-o", "link.xml", "--force",
                   msg="is not a regular file")
        self.assertEqual(self.read("suites/iris.yaml"), before)
        self.validate("data/iris.csv", "--suite", "suites/iris.yaml", "--format", "junit", "-o", "out.xml",
                      "--force", code=NEGATIVE)
        self.assertEqual((root.get("tests"), root.get("failures")), ("6", "5"))
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 1)
        cases = suites[0].findall("testcase")
        self.assertEqual(len(cases), 6)
        self.assertEqual(cases[0].get("name"), "expect_column_values_to_be_between(column_1) (suites/iris.yaml:3)")
        failure = cases[0].find("failure")
        self.assertEqual(failure.get("message"), "%d unexpected of %d values (%.4g%%)" % (
            expected["between"]["count"], expected["nonnull"], 100.0 * expected["between"]["count"] / expected["nonnull"]))
        self.assertIn("rows: " + " ".join(map(str, expected["between"]["rows"])), failure.text)
        self.assertIsNone(cases[5].find("failure"))
        self.assertEqual(cases[5].find("system-out").text, "%d rows" % expected["rows"])

    def test_infer_round_trip(self):
        for ref in ("data/iris.csv", "data/linnerud.csv"):
            r = self.validate(ref, "--infer")
            self.write("suites/inferred.yaml", r.stdout)
            self.assertIn("expect_table_columns_to_match_ordered_list", r.stdout)
            report = self.report(ref, "--suite", "suites/inferred.yaml")
            self.assertTrue(report["success"], json.dumps(report, indent=1))
            self.assertGreater(report["statistics"]["evaluated_expectations"], 5)
        # linnerud: every column is numeric, without missing values.
        r = self.validate("data/linnerud.csv", "--infer")
        self.assertIn('expect_column_values_to_be_between: {column: "Weight", min_value: 138, max_value: 247}', r.stdout)
        self.assertIn("expect_table_row_count_to_be_between: {min_value: 18, max_value: 22}", r.stdout)
        # Missing values give a mostly rounded down, and the inferred suite still passes.
        self.write("data/gaps.csv", "a,b\n1,x\n2,\n3,y\n,z\n5,x\n6,y\n")
        r = self.validate("data/gaps.csv", "--infer", "-o", "suites/gaps.yaml")
        text = self.read("suites/gaps.yaml").decode()
        self.assertIn('expect_column_values_to_not_be_null: {column: "a", mostly: 0.83}', text)
        self.assertIn('expect_column_values_to_be_in_set: {column: "b", value_set: ["x", "y", "z"]}', text)
        self.validate("data/gaps.csv", "--suite", "suites/gaps.yaml")
        # A row more with a new value fails the inferred suite.
        self.append("data/gaps.csv", "7,w\n")
        report = self.report("data/gaps.csv", "--suite", "suites/gaps.yaml", code=NEGATIVE)
        failed = [r for r in report["files"][0]["results"] if not r["success"]]
        self.assertEqual([(f["expectation_config"]["expectation_type"], f["expectation_config"]["kwargs"]["column"])
                          for f in failed],
                         [("expect_column_values_to_be_between", "a"), ("expect_column_values_to_be_in_set", "a"),
                          ("expect_column_values_to_be_in_set", "b")])
        self.assertEqual(failed[0]["result"]["partial_unexpected_list"], ["7"])
        self.assertEqual(failed[2]["result"]["partial_unexpected_list"], ["w"])
        self.assertEqual(failed[2]["result"]["partial_unexpected_rows"], [7])
        self.assertEqual(failed[2]["result"]["partial_unexpected_lines"], [8])

    def test_suite_errors_name_file_line_column(self):
        cases = [
            ("expectations:\n  - expect_column_values_to_be_betwen: {column: column_1, min_value: 1}\n",
             "suites/bad.yaml:2:5: unknown expectation 'expect_column_values_to_be_betwen' "
             "(did you mean 'expect_column_values_to_be_between'?)"),
            ("expectations:\n  - expect_column_values_to_be_between: {column: column_1, max: 1}\n",
             "suites/bad.yaml:2:60: unknown argument 'max' of expect_column_values_to_be_between"),
            ("expectations:\n\n  - expect_column_values_to_not_be_null: {column: column_1, mostly: \"0.9\"}\n",
             "suites/bad.yaml:3:69: expect_column_values_to_not_be_null: 'mostly' must be a number from 0 to 1"),
            ("expectations:\n  - expect_column_values_to_be_in_set: {column: column_5}\n",
             "suites/bad.yaml:2:5: expect_column_values_to_be_in_set needs the argument 'value_set'"),
            ("expectations:\n  - expect_table_columns_to_match_ordered_list: {column_list: column_1}\n",
             "suites/bad.yaml:2:63: expect_table_columns_to_match_ordered_list: 'column_list' must be a list"),
            ("expectations: [\n", "suites/bad.yaml:2:1: not YAML"),
        ]
        for text, message in cases:
            self.write("suites/bad.yaml", text)
            for fmt in ("text", "json", "junit"):
                r = self.cairn("validate", "data/iris.csv", "--suite", "suites/bad.yaml", "--format", fmt)
                self.assertEqual(r.returncode, ERROR, self.describe(r))
                self.assertIn("cairn: error: " + message, r.stderr)
                self.assertEqual(r.stdout, "")
        self.fails("validate", "data/iris.csv", "--suite", "suites/none.yaml", msg="suite suites/none.yaml does not exist")
        self.fails("validate", "data/iris.csv", msg="no suite given", hint="--infer")
        self.fails("validate", "no/such/thing", "--infer")

    def test_directory_dataset_and_not_tabular_files(self):
        self.copy_example("iris.csv", "data/set/a.csv")
        self.copy_example("linnerud_physiological.csv", "data/set/sub/b.csv")
        self.write("data/set/README.md", "not a table\n")
        self.ok("add", "data/set")
        self.write("suites/rows.yaml", "expectations:\n  - expect_table_row_count_to_be_between: {max_value: 100}\n"
                                       "  - expect_column_values_to_not_be_null: {column: Weight}\n")
        r = self.validate("data/set", "--suite", "suites/rows.yaml", code=NEGATIVE)
        self.assertIn("not tabular (skipped): README.md", r.stdout)
        report = self.report("data/set", "--suite", "suites/rows.yaml", code=NEGATIVE)
        self.assertEqual([f["path"] for f in report["files"]], ["a.csv", "sub/b.csv"])
        self.assertEqual([f["success"] for f in report["files"]], [False, True])  # 151 rows, no Weight; 20 rows
        a = report["files"][0]["results"]
        self.assertEqual(a[0]["result"]["observed_value"], 151)
        self.assertTrue(a[1]["exception_info"]["raised_exception"])
        self.assertIn("column 'Weight' is not in", a[1]["exception_info"]["exception_message"])
        self.assertEqual(report["not_tabular"], ["README.md"])
        self.assertEqual(report["statistics"]["evaluated_expectations"], 4)
        self.assertEqual(report["statistics"]["unsuccessful_expectations"], 2)
        self.write("data/only.txt", "text\n")
        self.fails("validate", "data/only.txt", "--suite", "suites/rows.yaml", msg="holds no table")

    def test_pipeline_stage_refused_before_its_command_runs(self):
        self.write("suites/raw.yaml", FAILING)
        self.write("cairn.yaml", """\
stages:
  train:
    cmd: touch command-ran && echo model > model.txt
    deps: [data/iris.csv, data/linnerud.csv]
    outs: [model.txt]
    validate:
      data/iris.csv: suites/raw.yaml
""")
        expected = self.pandas(self.path("data/iris.csv"))
        r = self.cairn("repro")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertFalse(os.path.exists(self.path("command-ran")), "the command ran")
        self.assertFalse(os.path.exists(self.path("model.txt")))
        self.assertFalse(os.path.exists(self.path("cairn.lock")))
        self.assertIn("cairn: error: stage train failed: input data/iris.csv does not pass suites/raw.yaml "
                      "(5 of 6 expectations failed):", r.stderr)
        self.assertIn("iris.csv: expect_column_values_to_be_in_set(column_5): 1 unexpected of 151 values "
                      "(0.6623%), row 1\n", r.stderr)
        self.assertIn("iris.csv: expect_column_values_to_be_between(column_1): %d unexpected of %d values" % (
            expected["between"]["count"], expected["nonnull"]), r.stderr)
        self.assertIn("the command did not run", r.stderr)
        outcome = json.loads(self.cairn("repro", "--json").stdout)[0]
        self.assertEqual(outcome["outcome"], "failed")
        self.assertIn("expect_column_values_to_be_unique(column_1): %d unexpected" % expected["unique"]["count"],
                      outcome["error"])
        self.assertFalse(os.path.exists(self.path("command-ran")))
        # A bad suite stops repro before any stage, naming both files.
        self.write("suites/raw.yaml", "expectations:\n  - expect_column_values_to_be_uniq: {column: column_1}\n")
        r = self.cairn("repro")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("cairn.yaml:6: stage 'train' validates data/iris.csv with suites/raw.yaml: "
                      "suites/raw.yaml:2:5: unknown expectation 'expect_column_values_to_be_uniq'", r.stderr)
        # validate may only name the stage's deps.
        self.write("cairn.yaml", self.read("cairn.yaml").decode().replace(
            "      data/iris.csv: suites/raw.yaml", "      data/nope.csv: suites/raw.yaml"))
        r = self.cairn("repro")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("cairn.yaml:7:7: 'validate' names 'data/nope.csv', which is not in the deps of stage 'train'",
                      r.stderr)
        # Once the input passes, the command runs.
        self.write("cairn.yaml", self.read("cairn.yaml").decode().replace("data/nope.csv", "data/iris.csv"))
        self.write("suites/raw.yaml", "expectations:\n  - expect_table_row_count_to_be_between: {min_value: 100}\n")
        r = self.cairn("repro")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertTrue(os.path.exists(self.path("command-ran")))
        self.assertEqual(self.read("model.txt"), b"model\n")
        # The stage's validation result is kept beside the input's blob.
        kept = os.path.join(self.cairn_dir, "refs", "derived", "validation", self.sha("data/iris.csv"))
        self.assertEqual(len(os.listdir(kept)), 2)  # the failing suite's result and the passing one's


if __name__ == "__main__":
    unittest.main()
