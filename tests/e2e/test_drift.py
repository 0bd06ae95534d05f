"""`cairn drift` end to end on the bundled data: two versions of real datasets in a repository
(a shifted and resampled copy), every statistic and p-value cairn prints in JSON checked against
scipy/numpy run on the same columns in Debian's /usr/bin/python3 (statistics to 1e-9, p-values to
1e-6 relative), the method each column gets checked against Evidently's rules, and bad input:
an unknown column, a method that does not fit, thresholds and shares out of range, tables with no
column in common (the same data twice is no drift, exit 0). Under CI=true a missing scipy fails instead of skipping."""

import csv
import json
import os
import random
import subprocess
import unittest

from cairn_testlib import ERROR, EXAMPLES, NEGATIVE, OK, CairnTestCase, missing

SYSTEM_PYTHON = "/usr/bin/python3"

# The reference computation: Evidently's choice of method and scipy's numbers, column by column.
# argv: a JSON file [{"a": CSV, "b": CSV, "columns": [{"column", "method"}]}]; prints the results.
REFERENCE = r'''
import csv, json, sys
import numpy as np
from scipy import stats
from scipy.spatial import distance

MISSING = {"", "na", "n/a", "null", "none", "nan"}

def column(path, name):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    i = rows[0].index(name)
    return [r[i] for r in rows[1:] if i < len(r) and r[i].strip().lower() not in MISSING]

def as_numbers(values):
    try:
        return np.array([float(v) for v in values])
    except ValueError:
        return None

def shares_binned(r, c):  # Evidently's get_binned_data (no zero filling)
    if len(np.unique(r)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
        return np.histogram(r, bins)[0] / len(r), np.histogram(c, bins)[0] / len(c)
    keys = sorted(set(r.tolist()) | set(c.tolist()))
    return (np.array([np.sum(r == k) for k in keys]) / len(r), np.array([np.sum(c == k) for k in keys]) / len(c))

def psi(r, c, numeric):
    if numeric:
        e = np.unique(np.quantile(r, np.arange(1, 10) / 10))
        rs = np.bincount(np.searchsorted(e, r, side="left"), minlength=len(e) + 1) / len(r)
        cs = np.bincount(np.searchsorted(e, c, side="left"), minlength=len(e) + 1) / len(c)
    else:
        keys = sorted(set(r.tolist()) | set(c.tolist()))
        rs = np.array([np.sum(r == k) for k in keys]) / len(r)
        cs = np.array([np.sum(c == k) for k in keys]) / len(c)
    rs = np.where(rs > 0, rs, 1e-4)
    cs = np.where(cs > 0, cs, 1e-4)
    return float(np.sum((rs - cs) * np.log(rs / cs)))

def evidently_method(r, c, numeric):
    n_values = len(set(r.tolist()) | set(c.tolist()))
    if len(r) <= 1000:
        if numeric and n_values > 5:
            return "ks"
        return "chi2" if n_values > 2 else "z"
    return "wasserstein" if numeric and n_values > 5 else "jensenshannon"

out = []
for job in json.load(open(sys.argv[1])):
    results = {}
    for col in job["columns"]:
        name, method = col["column"], col["method"]
        ra, rb = column(job["a"], name), column(job["b"], name)
        na, nb = as_numbers(ra), as_numbers(rb)
        numeric = na is not None and nb is not None
        r, c = (na, nb) if numeric else (np.array(ra), np.array(rb))
        res = {"auto": evidently_method(r, c, numeric), "p_value": None, "n": [len(r), len(c)]}
        if method == "ks":
            k = stats.ks_2samp(r, c)
            res["statistic"], res["p_value"] = float(k.statistic), float(k.pvalue)
        elif method == "chi2":
            keys = sorted(set(r.tolist()) | set(c.tolist()))
            ref = np.array([np.sum(r == k) for k in keys], dtype=float)
            obs = np.array([np.sum(c == k) for k in keys], dtype=float)
            chi = stats.chisquare(obs, ref * len(c) / len(r))
            res["statistic"], res["p_value"] = float(chi.statistic), float(chi.pvalue)
        elif method == "z":
            key = sorted(set(r.tolist()) | set(c.tolist()))[0]
            n1, n2 = len(r), len(c)
            p1, p2 = np.sum(r != key) / n1, np.sum(c != key) / n2
            P = (p1 * n1 + p2 * n2) / (n1 + n2)
            z = (p1 - p2) / np.sqrt(P * (1 - P) * (1 / n1 + 1 / n2))
            res["statistic"], res["p_value"] = float(z), float(2 * stats.norm.sf(abs(z)))
            res["evidently_p_value"] = float(2 * (1 - stats.norm.cdf(abs(z))))
        elif method == "wasserstein":
            res["statistic"] = float(stats.wasserstein_distance(r, c) / max(np.std(r), 0.001))
        elif method == "jensenshannon":
            res["statistic"] = float(distance.jensenshannon(*shares_binned(r, c)))
        elif method == "psi":
            res["statistic"] = psi(r, c, numeric)
        results[name] = res
    out.append(results)
print(json.dumps(out))
'''

IRIS_HEADER = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
SPECIES = ["setosa", "versicolor", "virginica"]


def read_rows(name):
    """A bundled CSV without its first (shape/label) line, as lists of strings."""
    with open(os.path.join(EXAMPLES, name), newline="") as f:
        rows = list(csv.reader(f))
    return rows[1:] if name != "digits.csv" else rows


def csv_text(header, rows):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return "\n".join(lines) + "\n"


class DriftTestCase(CairnTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy, scipy"], capture_output=True)
        if probe.returncode != 0:
            raise missing("scipy/numpy for %s (Debian python3-scipy)" % SYSTEM_PYTHON)

    def setUp(self):
        super().setUp()
        self.outside = os.path.join(self.tmp, "versions")  # copies of each version for the reference
        os.makedirs(self.outside)

    # ---- helpers -------------------------------------------------------------------------------

    def version(self, rel, text, tag):
        """Writes `text` at `rel`, adds and tags it; keeps a copy outside the repository."""
        self.write(rel, text)
        self.ok("add", rel)
        self.ok("tag", rel, tag)
        copy = os.path.join(self.outside, "%s@%s" % (rel.replace("/", "_"), tag))
        with open(copy, "w") as f:
            f.write(text)
        return copy

    def drift(self, *args, code=None):
        r = self.cairn("drift", *args, "--json")
        if code is not None:
            self.assertEqual(r.returncode, code, self.describe(r))
        self.assertIn(r.returncode, (OK, NEGATIVE), self.describe(r))
        report = json.loads(r.stdout)
        self.assertEqual(report["drifted"], r.returncode == NEGATIVE)
        return report

    def reference(self, jobs):
        path = os.path.join(self.tmp, "jobs.json")
        with open(path, "w") as f:
            json.dump(jobs, f)
        r = subprocess.run([SYSTEM_PYTHON, "-c", REFERENCE, path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def assert_matches_scipy(self, file_report, a_copy, b_copy, auto=True):
        """Every compared column of one file against the reference; returns the columns by name."""
        cols = file_report["columns"]
        self.assertTrue(cols)
        (ref,) = self.reference([{"a": a_copy, "b": b_copy, "columns": cols}])
        for col in cols:
            name, want = col["column"], ref[col["column"]]
            with self.subTest(column=name, method=col["method"]):
                if auto:
                    self.assertEqual(col["method"], want["auto"])
                self.assertEqual([col["reference_values"], col["current_values"]], want["n"])
                s, ws = col["statistic"], want["statistic"]
                if ws is None or ws == float("inf"):
                    self.assertIsNone(s)
                else:
                    self.assertLessEqual(abs(s - ws), 1e-9 * max(1.0, abs(ws)), (s, ws))
                if want["p_value"] is None:
                    self.assertIsNone(col["p_value"])
                else:
                    p, wp = col["p_value"], want["p_value"]
                    self.assertLessEqual(abs(p - wp), 1e-6 * abs(wp) + 1e-300, (p, wp))
                thr = {"ks": 0.05, "chi2": 0.05, "z": 0.05}.get(col["method"], 0.1)
                if col["threshold"] == thr:
                    if col["method"] == "ks":
                        self.assertEqual(col["drifted"], col["p_value"] <= thr)
                    elif col["method"] in ("chi2", "z"):
                        self.assertEqual(col["drifted"], col["p_value"] < thr)
                    else:
                        self.assertEqual(col["drifted"], col["statistic"] >= thr)
        return {c["column"]: c for c in cols}

    def iris_versions(self):
        rows = [r[:4] + [SPECIES[int(r[4])]] for r in read_rows("iris.csv")]
        a = self.version("data/iris.csv", csv_text(IRIS_HEADER, rows), "v1")
        # v2: half the setosa rows gone, petals 15% longer, a bootstrap resample of the rest.
        rng = random.Random(7)
        kept = [r for i, r in enumerate(rows) if not (r[4] == "setosa" and i % 2)]
        shifted = [[r[0], r[1], "%.2f" % (float(r[2]) * 1.15), "%.2f" % (float(r[3]) * 1.15), r[4]] for r in kept]
        resampled = [rng.choice(shifted) for _ in range(140)]
        b = self.version("data/iris.csv", csv_text(IRIS_HEADER, resampled), "v2")
        return a, b

    # ---- the statistics --------------------------------------------------------------------------

    def test_small_reference_ks_and_chi2_match_scipy_and_exit_1_on_drift(self):
        a, b = self.iris_versions()
        report = self.drift("data/iris.csv@v1", "data/iris.csv@v2", code=NEGATIVE)
        self.assertEqual(report["reference"], "data/iris.csv@v1")
        (f,) = report["files"]
        cols = self.assert_matches_scipy(f, a, b)
        self.assertEqual({c: cols[c]["method"] for c in cols},
                         {"sepal_length": "ks", "sepal_width": "ks", "petal_length": "ks", "petal_width": "ks",
                          "species": "chi2"})
        self.assertTrue(all(cols[c]["exact"] for c in IRIS_HEADER[:4]))
        self.assertTrue(cols["petal_length"]["drifted"] and cols["species"]["drifted"])
        self.assertEqual(report["drifted_columns"], sum(c["drifted"] for c in cols.values()))
        self.assertEqual(report["compared_columns"], 5)
        self.assertGreaterEqual(report["drifted_share"], 0.5)
        # The text names the verdict and exits the same way.
        r = self.cairn("drift", "data/iris.csv@v1", "data/iris.csv@v2")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("DATASET DRIFT", r.stdout)
        self.assertIn("petal_length", r.stdout)

    def test_binary_column_uses_the_z_test(self):
        rows = read_rows("breast_cancer.csv")
        header = ["f%d" % i for i in range(1, 31)] + ["malignant"]
        a = self.version("data/bc.csv", csv_text(header, rows), "v1")
        rng = random.Random(3)
        benign = [r for r in rows if r[30] == "1"]
        malignant = [r for r in rows if r[30] == "0"]
        b_rows = [rng.choice(malignant) for _ in range(300)] + [rng.choice(benign) for _ in range(200)]
        b = self.version("data/bc.csv", csv_text(header, b_rows), "v2")
        report = self.drift("data/bc.csv@v1", "data/bc.csv@v2")
        cols = self.assert_matches_scipy(report["files"][0], a, b)
        self.assertEqual(cols["malignant"]["method"], "z")
        self.assertTrue(cols["malignant"]["drifted"])
        self.assertEqual(cols["f1"]["method"], "ks")
        (ref,) = self.reference([{"a": a, "b": b, "columns": [cols["malignant"]]}])
        # Evidently's own 2*(1-cdf(|z|)) agrees only to the rounding of 1-cdf (absolute, 2^-52 per
        # term): here p is about 1e-13, and the two differ by about 3e-17 (doc/data.md, Drift).
        z = ref["malignant"]
        self.assertLess(z["p_value"], 1e-12)
        self.assertLessEqual(abs(cols["malignant"]["p_value"] - z["evidently_p_value"]), 2 * 2.0 ** -52)

    def test_large_reference_uses_wasserstein_and_jensen_shannon(self):
        rows = read_rows("digits.csv")
        names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        header = ["p%d" % i for i in range(64)] + ["digit", "name"]
        a_rows = [r + [names[int(r[64])]] for r in rows]
        a = self.version("data/digits.csv", csv_text(header, a_rows), "v1")
        # v2: fewer zeros, ones and twos; the images brightened by one step on the first rows.
        b_rows = [r for i, r in enumerate(a_rows) if not (r[64] in ("0", "1", "2") and i % 3)]
        b_rows = [[str(min(16, int(v) + 1)) for v in r[:64]] + r[64:] if i < 600 else r for i, r in enumerate(b_rows)]
        b = self.version("data/digits.csv", csv_text(header, b_rows), "v2")
        report = self.drift("data/digits.csv@v1", "data/digits.csv@v2")
        cols = self.assert_matches_scipy(report["files"][0], a, b)
        methods = {c["method"] for c in cols.values()}
        self.assertEqual(methods, {"wasserstein", "jensenshannon"})
        self.assertEqual(cols["name"]["method"], "jensenshannon")
        self.assertEqual(cols["name"]["type"], "string")
        self.assertEqual(cols["digit"]["method"], "wasserstein")
        self.assertIsNone(cols["digit"]["p_value"])
        few = [c for c in cols.values() if c["type"] != "string" and c["distinct_values"] <= 5]
        self.assertTrue(few and all(c["method"] == "jensenshannon" for c in few))

    def test_asymptotic_ks_psi_and_forced_methods_on_many_values(self):
        # Every pixel of the digits as one long column: 115008 real values, split in two versions.
        values = [v for r in read_rows("digits.csv") for v in r[:64]]
        a = self.version("data/pixels.csv", csv_text(["value"], [[v] for v in values[:60000]]), "v1")
        b = self.version("data/pixels.csv", csv_text(["value"], [[v] for v in values[60000:]]), "v2")
        for method in ("ks", "psi", "wasserstein", "jensenshannon", "chi2"):
            with self.subTest(method=method):
                report = self.drift("data/pixels.csv@v1", "data/pixels.csv@v2", "--method", method)
                self.assertEqual(report["method"], method)
                cols = self.assert_matches_scipy(report["files"][0], a, b, auto=False)
                self.assertEqual(cols["value"]["method"], method)
                if method == "ks":
                    self.assertFalse(cols["value"]["exact"])  # more than 10000 values: asymptotic
        report = self.drift("data/pixels.csv@v1", "data/pixels.csv@v2", "--method", "psi", "--threshold", "1e-9")
        self.assertEqual(report["files"][0]["columns"][0]["threshold"], 1e-9)
        self.assertTrue(report["drifted"])

    def test_forced_psi_on_iris_and_a_threshold(self):
        a, b = self.iris_versions()
        report = self.drift("data/iris.csv@v1", "data/iris.csv@v2", "--method", "psi", "--column", "petal_length",
                            "--column", "species")
        cols = self.assert_matches_scipy(report["files"][0], a, b, auto=False)
        self.assertEqual(sorted(cols), ["petal_length", "species"])
        report = self.drift("data/iris.csv@v1", "data/iris.csv@v2", "--column", "sepal_width",
                            "--threshold", "0.999", code=NEGATIVE)
        self.assertEqual(report["threshold"], 0.999)
        self.assertTrue(report["files"][0]["columns"][0]["drifted"])

    # ---- refs, pairing, no drift ------------------------------------------------------------------

    def test_workspace_files_without_drift_exit_0(self):
        rows = [r[:4] + [SPECIES[int(r[4])]] for r in read_rows("iris.csv")]
        a = self.write("even.csv", csv_text(IRIS_HEADER, rows[0::2]))
        b = self.write("odd.csv", csv_text(IRIS_HEADER, rows[1::2]))
        report = self.drift("even.csv", "odd.csv", code=OK)
        self.assertEqual(report["drifted_columns"], 0)
        self.assert_matches_scipy(report["files"][0], a, b)
        r = self.cairn("drift", "even.csv", "odd.csv")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("no dataset drift: 0 of 5 columns drifted", r.stdout)
        # Another format on one side: two single files pair whatever their names.
        with open(self.path("even.jsonl"), "w") as f:
            for row in rows[0::2]:
                f.write(json.dumps(dict(zip(IRIS_HEADER, [float(v) for v in row[:4]] + [row[4]]))) + "\n")
        jsonl = self.drift("even.jsonl", "odd.csv", code=OK)
        self.assertEqual(sorted((c["column"], c["statistic"], c["p_value"]) for c in jsonl["files"][0]["columns"]),
                         sorted((c["column"], c["statistic"], c["p_value"]) for c in report["files"][0]["columns"]))

    def test_directory_dataset_pairs_files_by_path(self):
        rows = [r[:4] + [SPECIES[int(r[4])]] for r in read_rows("iris.csv")]
        self.write("data/set/iris.csv", csv_text(IRIS_HEADER, rows))
        self.write("data/set/README.txt", "notes\n")
        self.write("data/set/old.csv", "x\n1\n2\n")
        self.ok("add", "data/set")
        self.ok("tag", "data/set", "v1")
        os.remove(self.path("data/set/old.csv"))
        self.write("data/set/iris.csv", csv_text(IRIS_HEADER, rows[:100]))  # no virginica any more
        self.write("data/set/new.csv", "y\n3\n")
        self.ok("add", "data/set")
        self.ok("tag", "data/set", "v2")
        report = self.drift("data/set@v1", "data/set@v2", "--column", "species", code=NEGATIVE)
        self.assertEqual([f["path"] for f in report["files"]], ["iris.csv"])
        self.assertEqual(report["only_in_reference"], ["old.csv"])
        self.assertEqual(report["only_in_current"], ["new.csv"])
        self.assertEqual(report["not_tabular"], ["README.txt"])
        (col,) = report["files"][0]["columns"]
        self.assertEqual((col["column"], col["method"], col["drifted"]), ("species", "chi2", True))
        # Two pairs: a --column one file lacks is skipped there; one no file has is an error.
        self.write("data/set/old.csv", "x\n1\n2\n")
        self.ok("add", "data/set")
        self.ok("tag", "data/set", "v3")
        report = self.drift("data/set@v1", "data/set@v3", "--column", "species", "--column", "x")
        self.assertEqual([f["path"] for f in report["files"]], ["iris.csv", "old.csv"])
        iris, old = report["files"]
        self.assertEqual(iris["skipped"], [{"column": "x", "reason": "not in this file"}])
        self.assertEqual(old["skipped"], [{"column": "species", "reason": "not in this file"}])
        self.assertEqual(report["compared_columns"], 2)
        self.fails("drift", "data/set@v1", "data/set@v3", "--column", "specis", msg="no column 'specis'",
                   hint="did you mean 'species'?")

    def test_fresh_clone_drifts_the_versions_it_pulled(self):
        self.iris_versions()
        want = self.drift("data/iris.csv@v1", "data/iris.csv@v2", code=NEGATIVE)
        remote = os.path.join(self.tmp, "remote")
        os.mkdir(remote)
        self.ok("remote", "add", "origin", remote, "-d")
        self.ok("push")
        self.commit(message="iris v1, v2")
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", self.repo, clone], env=self.env, check=True)
        self.ok("pull", cwd=clone)  # the tags and the current version (v2)
        r = self.cairn("drift", "data/iris.csv@v1", "data/iris.csv@v2", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, "is not in the cache", hint="pull")
        self.ok("pull", "data/iris.csv@v1", cwd=clone)
        r = self.cairn("drift", "data/iris.csv@v1", "data/iris.csv@v2", "--json", cwd=clone)
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        got = json.loads(r.stdout)
        self.assertEqual(got["files"][0]["columns"], want["files"][0]["columns"])

    # ---- bad input ------------------------------------------------------------------------------------

    def test_bad_input_exits_2_with_a_hint(self):
        self.iris_versions()
        a, b = "data/iris.csv@v1", "data/iris.csv@v2"
        self.fails("drift", a, b, "--column", "sepal_lenght", msg="no column 'sepal_lenght'",
                   hint="did you mean 'sepal_length'?")
        self.fails("drift", a, b, "--method", "ks", "--column", "species",
                   msg="--method ks does not apply to column 'species'", hint="--column")
        self.fails("drift", a, b, "--method", "wasserstein", msg="does not apply to column 'species'")
        self.fails("drift", a, b, "--method", "z", "--column", "species", msg="3 distinct values")
        self.fails("drift", a, b, "--threshold", "1.5", msg="--threshold", hint="between 0 and 1")
        self.fails("drift", a, b, "--method", "psi", "--threshold", "0", msg="--threshold", hint="positive")
        self.fails("drift", a, b, "--method", "kolmogorov", msg="unknown --method 'kolmogorov'", hint="ks")
        self.fails("drift", a, b, "--share", "0", msg="--share", hint="(0, 1]")
        # The same data twice is the normal "nothing changed" of a scheduled check: no drift, exit 0.
        same = self.json("drift", a, a)
        self.assertFalse(same["drifted"])
        self.assertGreater(same["compared_columns"], 0)
        # Tables without a column in common compare nothing: an error, not a pass.
        self.write("other.csv", "q,r\n1,2\n3,4\n")
        self.fails("drift", a, "other.csv", msg="nothing was compared", hint="two versions of the same table")
        self.fails("drift", a, "nothing/here", msg="no file, directory or dataset named nothing/here")
        r = self.cairn("drift", "--help")
        self.assertEqual(r.returncode, OK)
        self.assertIn("cairn drift data/iris@v1 data/iris@v2", r.stdout)

    def test_missing_values_and_one_sided_columns_are_skipped(self):
        self.write("a.csv", "x,y,only_a,gaps\n1,u,1,\n2,v,2,NA\n3,u,3,\n4,v,4,\n5,u,5,\n6,v,6,\n")
        self.write("b.csv", "x,y,only_b,gaps\n1,u,1,5\n2,u,2,\n3,u,3,7\n4,v,4,\n9,u,5,\n8,v,6,\n")
        report = self.drift("a.csv", "b.csv")
        f = report["files"][0]
        self.assertEqual([c["column"] for c in f["columns"]], ["x", "y"])
        self.assertEqual(f["skipped"], [{"column": "only_a", "reason": "only in A"},
                                        {"column": "only_b", "reason": "only in B"},
                                        {"column": "gaps", "reason": "no values in A"}])
        self.assert_matches_scipy(f, self.path("a.csv"), self.path("b.csv"))


if __name__ == "__main__":
    unittest.main()
