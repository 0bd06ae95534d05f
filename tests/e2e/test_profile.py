"""`cairn profile` and `cairn show --profile` end to end on the bundled data: every number of a
profile (counts, nulls, distinct, mean, std, min, max, quantiles, top values) checked against
pandas run on the same file in Debian's /usr/bin/python3; a profile is computed once per blob
(the second run reuses the stored object), travels with its version through push and pull (a
fresh clone holds the profile object before anything computes, and show --profile prints that
very object), survives gc and passes fsck; directory datasets profile each table and skip the
rest; bad input exits 2 with a message naming the problem (and the line). Under CI=true a
missing pandas fails instead of skipping."""

import hashlib
import json
import os
import subprocess
import unittest

from cairn_testlib import ERROR, CairnTestCase, missing

SYSTEM_PYTHON = "/usr/bin/python3"

# pandas' view of a CSV: argv = path, "header" or "noheader"; prints per column (by index) the
# statistics a profile reports.
REFERENCE = r'''
import json, sys
import numpy as np
import pandas as pd
path, header = sys.argv[1], sys.argv[2]
df = pd.read_csv(path, header=0 if header == "header" else None)
out = []
for name in df.columns:
    s = df[name]
    v = s.dropna()
    col = {"count": int(v.size), "nulls": int(s.isna().sum()), "nunique": int(v.nunique()),
           "numeric": bool(pd.api.types.is_numeric_dtype(s))}
    vc = v.value_counts()
    col["top"] = [[str(k), int(c)] for k, c in vc.items()]
    if col["numeric"]:
        a = v.to_numpy(dtype=float)
        col.update(mean=float(v.mean()), std=float(v.std()), min=float(v.min()), max=float(v.max()),
                   q=[float(np.quantile(a, q)) for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)],
                   hist=np.histogram(a, bins=20)[0].tolist())
    out.append(col)
print(json.dumps(out))
'''

QUANTILES = ["p1", "p5", "p25", "p50", "p75", "p95", "p99"]


def pandas_reference(path, header):
    try:
        r = subprocess.run([SYSTEM_PYTHON, "-c", "import pandas, numpy"], capture_output=True)
    except OSError:
        r = None
    if r is None or r.returncode != 0:
        raise missing("pandas is not installed for %s (apt-get install python3-pandas)" % SYSTEM_PYTHON)
    r = subprocess.run([SYSTEM_PYTHON, "-c", REFERENCE, path, "header" if header else "noheader"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


class ProfileTest(CairnTestCase):
    def profile(self, *args, cwd=None):
        return self.json("profile", *args, cwd=cwd)

    def assert_matches_pandas(self, path, table):
        """Every statistic of `table` (one entry of a report's tables) against pandas on `path`."""
        prof = table["profile"]
        want = pandas_reference(path, prof["header"])
        self.assertEqual(len(prof["columns"]), len(want))
        rows = prof["rows"]
        for col, ref in zip(prof["columns"], want):
            name = col["name"]
            self.assertEqual(col["count"] + col["nulls"], rows, name)
            self.assertEqual((col["count"], col["nulls"]), (ref["count"], ref["nulls"]), name)
            self.assertAlmostEqual(col["null_share"], ref["nulls"] / rows, places=12, msg=name)
            self.assertTrue(col["distinct_exact"], name)
            if ref["numeric"]:
                self.assertIn(col["type"], ("integer", "number"), name)
                self.assertEqual(col["distinct"], ref["nunique"], name)
                for key in ("mean", "std", "min", "max"):
                    self.assertAlmostEqual(col[key], ref[key], delta=1e-9 * max(1.0, abs(ref[key])),
                                           msg="%s %s" % (name, key))
                self.assertTrue(col["quantiles_exact"])
                for q, want_q in zip(QUANTILES, ref["q"]):
                    self.assertAlmostEqual(col["quantiles"][q], want_q, delta=1e-9 * max(1.0, abs(want_q)),
                                           msg="%s %s" % (name, q))
                self.assertEqual(col["histogram"]["counts"], ref["hist"], name)
                self.assertEqual(len(col["histogram"]["edges"]), 21)
                # Top values: the same counts, each value's count as pandas counts it.
                by_value = {float(k): c for k, c in ref["top"]}
                for item in col["top_values"]:
                    self.assertEqual(item["count"], by_value[float(item["value"])], "%s %s" % (name, item))
            else:
                self.assertIn(col["type"], ("string", "boolean"), name)
                self.assertIsNone(col["mean"])
                self.assertIsNone(col["quantiles"])
                # pandas reads true/false as booleans (True/False).
                by_value = {k.lower() if col["type"] == "boolean" else k: c for k, c in ref["top"]}
                for item in col["top_values"]:
                    key = item["value"].lower() if col["type"] == "boolean" else item["value"]
                    self.assertEqual(item["count"], by_value[key], "%s %s" % (name, item))
            self.assertEqual([t["count"] for t in col["top_values"]], [c for _, c in ref["top"][:10]], name)
            self.assertTrue(col["top_values_exact"])

    def test_numbers_match_pandas_on_the_bundled_data(self):
        for name, header in (("patients.csv", True), ("iris.csv", False), ("digits.csv", False)):
            self.copy_example(name, "data/" + name)
            self.ok("add", "data/" + name)
            report = self.profile("data/" + name)
            (table,) = report["tables"]
            self.assertEqual(table["profile"]["header"], header, name)
            self.assert_matches_pandas(self.path("data/" + name), table)
        # patients: 442 rows, 12 integer and number columns.
        (table,) = self.profile("data/patients.csv")["tables"]
        prof = table["profile"]
        self.assertEqual(prof["rows"], 442)
        types = {c["name"]: c["type"] for c in prof["columns"]}
        self.assertEqual((types["id"], types["age"], types["bmi"]), ("integer", "integer", "number"))
        # iris' first line (150,4,setosa,…) is data: its third column is text.
        (iris,) = self.profile("data/iris.csv")["tables"]
        self.assertEqual(iris["profile"]["rows"], 151)
        self.assertEqual(iris["profile"]["columns"][2]["type"], "string")
        self.assertEqual(iris["profile"]["columns"][2]["max"], "setosa")

    def test_nulls_and_text_columns(self):
        self.write("t.csv", "a,b,c\n1,x,true\n,y,false\nNA,x,\n4,,true\n")
        (table,) = self.profile("t.csv")["tables"]
        self.assert_matches_pandas(self.path("t.csv"), table)
        a, b, c = table["profile"]["columns"]
        self.assertEqual((a["type"], a["nulls"], a["null_share"]), ("integer", 2, 0.5))
        self.assertEqual((b["min"], b["max"], b["top_values"][0]), ("x", "y", {"value": "x", "count": 2}))
        self.assertEqual(c["type"], "boolean")
        r = self.ok("profile", "t.csv")  # the text form names every column
        for word in ("COLUMN", "TYPE", "NULLS", "a", "b", "c", "integer", "string", "boolean", "top b: x (2)"):
            self.assertIn(word, r.stdout)

    def test_computed_once_per_blob(self):
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv")
        self.ok("tag", "data/patients.csv", "v1")
        first = self.profile("data/patients.csv")["tables"][0]
        self.assertTrue(first["computed"])
        blob = first["blob"].split(":")[1]
        ref = os.path.join(self.repo, ".cairn", "refs", "derived", "profile", blob, "csv")
        self.assertTrue(os.path.exists(ref))
        with open(ref) as f:
            self.assertEqual(f.read().strip(), first["object"])
        second = self.profile("data/patients.csv@v1")["tables"][0]
        self.assertFalse(second["computed"])
        self.assertEqual(second["object"], first["object"])
        self.assertEqual(second["profile"], first["profile"])
        # The same bytes elsewhere are the same blob: no new profile.
        self.copy_example("patients.csv", "copy.csv")
        third = self.profile("copy.csv")["tables"][0]
        self.assertEqual((third["computed"], third["object"]), (False, first["object"]))
        # --column keeps only those columns; one no table has is an error naming the columns.
        only = self.profile("data/patients.csv", "--column", "bmi", "--column", "age")["tables"][0]
        self.assertEqual([c["name"] for c in only["profile"]["columns"]], ["bmi", "age"])
        self.fails("profile", "data/patients.csv", "--column", "nope", msg="no table of data/patients.csv has a column 'nope'",
                   hint="id, age, sex, bmi")
        # gc keeps it (its blob stays), fsck checks it.
        self.ok("gc", "--apply")
        self.assertTrue(os.path.exists(ref))
        fsck = self.json("fsck")
        self.assertTrue(fsck["ok"], fsck)
        self.assertGreaterEqual(fsck["derived_checked"], 1)
        # A ref naming a missing object is fsck's to find, and only a cache: profile computes it
        # again (the same profile) and replaces the ref.
        with open(ref, "w") as f:
            f.write("sha256:" + "0" * 64 + "\n")
        r = self.fails("fsck", code=1)
        self.assertIn("derived", r.stdout)
        again = self.profile("data/patients.csv")["tables"][0]
        self.assertEqual((again["computed"], again["profile"]), (True, first["profile"]))
        with open(ref) as f:
            self.assertEqual(f.read().strip(), again["object"])  # a new object (its time differs)
        # Damaged bytes of the stored object: computed again too (a new object, the old one
        # left for fsck --repair), never read back wrong.
        loose = self.loose_path(again["object"])
        os.chmod(loose, 0o644)
        with open(loose, "r+b") as f:
            data = f.read().replace(b'"rows": 442', b'"rows": 443')
            f.seek(0)
            f.write(data)
        redone = self.profile("data/patients.csv")["tables"][0]
        self.assertTrue(redone["computed"])
        self.assertEqual(redone["profile"]["rows"], 442)
        # fsck --repair drops a dangling ref (and the damaged object); then fsck is clean.
        with open(ref, "w") as f:
            f.write("sha256:" + "1" * 64 + "\n")
        r = self.cairn("fsck", "--repair", "--json")
        repaired = json.loads(r.stdout)
        self.assertEqual(repaired["derived_removed"], ["refs/derived/profile/%s/csv" % blob], repaired)
        self.assertFalse(os.path.exists(ref))
        self.assertTrue(self.json("fsck")["ok"])
        self.assertTrue(self.profile("data/patients.csv")["tables"][0]["computed"])

    def plant(self, ref_path, subject, body):
        """A well-formed derived object (its oid its hash) with `body`, named by the ref."""
        obj = {"format": "cairn-derived 1", "kind": "profile", "subject": "sha256:" + subject, "key": "csv",
               "created": 1, "body": body}
        data = (json.dumps(obj) + "\n").encode()
        oid = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.loose_path(oid)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        with open(ref_path, "w") as f:
            f.write(oid + "\n")
        return oid

    def test_a_stored_profile_of_the_wrong_shape_is_damaged(self):
        """Its hash is right, its body is not what a profile holds: push leaves it out, fsck names
        it, profile computes it again; never read back (it once aborted show --profile)."""
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv")
        made = self.profile("data/patients.csv")["tables"][0]
        blob = made["blob"].split(":")[1]
        ref = os.path.join(self.repo, ".cairn", "refs", "derived", "profile", blob, "csv")
        self.plant(ref, blob, {"profile_version": 1, "format": "csv", "rows": 442, "columns": [{"name": 5}]})
        remote = os.path.join(self.tmp, "remote")
        os.mkdir(remote)
        self.ok("remote", "add", "origin", remote, "-d")
        r = self.ok("push")
        self.assertIn("not pushed", r.stderr)
        self.assertIn("profile.columns[0].name is not a string", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(remote, "refs", "derived")) and
                         os.listdir(os.path.join(remote, "refs", "derived")))
        r = self.fails("fsck", code=1)
        self.assertIn("a damaged stored profile", r.stdout)
        r = self.ok("show", "data/patients.csv", "--profile")
        self.assertIn("bmi", r.stdout)
        # A profile whose numbers cannot belong together is damaged too.
        again = self.profile("data/patients.csv")["tables"][0]
        self.assertFalse(again["computed"])
        body = dict(again["profile"], rows=123456789)
        self.plant(ref, blob, body)
        fixed = self.profile("data/patients.csv")["tables"][0]
        self.assertTrue(fixed["computed"])
        self.assertEqual(fixed["profile"]["rows"], 442)

    def test_a_clone_shows_an_older_tagged_version_s_profile_without_its_data(self):
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv")
        self.ok("tag", "data/patients.csv", "v1")
        made = self.profile("data/patients.csv@v1")["tables"][0]
        self.append("data/patients.csv", b"443,50,1,25.0,90,180,100,50,4,4.5,90,100\n")
        self.ok("add", "data/patients.csv")
        self.ok("tag", "data/patients.csv", "v2")
        remote = os.path.join(self.tmp, "remote")
        self.ok("remote", "add", "origin", remote, "-d")
        self.ok("push")
        self.commit(message="patients v2")
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", self.repo, clone], env=self.env, check=True)
        self.ok("pull", cwd=clone)  # the pointers name v2; v1 is only a tag
        shown = self.json("show", "data/patients.csv@v1", "--profile", cwd=clone)
        (table,) = shown["profile"]["tables"]
        self.assertEqual((table["computed"], table["object"]), (False, made["object"]))
        self.assertFalse(self.in_cache_of(clone, made["blob"]))  # v1's data never came

    def in_cache_of(self, repo, oid):
        hexd = oid.split(":", 1)[-1]
        return os.path.exists(os.path.join(repo, ".cairn", "cache", "sha256", hexd[:2], hexd[2:]))

    def test_profile_travels_with_push_and_pull(self):
        self.copy_example("patients.csv", "data/patients.csv")
        self.ok("add", "data/patients.csv")
        self.ok("tag", "data/patients.csv", "v1")
        made = self.profile("data/patients.csv@v1")["tables"][0]
        self.assertTrue(made["computed"])
        remote = os.path.join(self.tmp, "remote")
        os.mkdir(remote)
        self.ok("remote", "add", "origin", remote, "-d")
        pushed = self.json("push")
        self.assertEqual(pushed["derived"], 1)
        self.assertEqual(self.json("push")["derived"], 0)  # already there
        self.commit(message="patients v1")
        # Remote gc keeps the profile: its subject is live there.
        gc = self.json("gc", "--remote", "origin", "--apply", "--grace", "0")
        self.assertEqual((gc["derived"], gc["derived_removed"]), (1, 0))
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", self.repo, clone], env=self.env, check=True)
        blob = made["blob"].split(":")[1]
        ref = os.path.join(clone, ".cairn", "refs", "derived", "profile", blob, "csv")
        self.assertFalse(os.path.exists(ref))
        pulled = self.json("pull", cwd=clone)
        self.assertEqual(pulled["derived"], 1)
        # The profile object is in the clone before anything could compute it …
        with open(ref) as f:
            self.assertEqual(f.read().strip(), made["object"])
        # … and show --profile prints that object, not a new computation (which would differ in
        # its creation time, hence its oid).
        shown = self.json("show", "data/patients.csv@v1", "--profile", cwd=clone)
        (table,) = shown["profile"]["tables"]
        self.assertFalse(table["computed"])
        self.assertEqual(table["object"], made["object"])
        self.assertEqual(table["created"], made["created"])
        self.assertEqual(table["profile"], made["profile"])
        text = self.ok("show", "data/patients.csv@v1", "--profile", cwd=clone).stdout
        self.assertIn("(stored)", text)
        self.assertIn("bmi", text)
        # fsck on the remote counts the profile ref.
        self.assertTrue(self.json("fsck", "--remote", "origin", cwd=clone)["problems"] == [])

    def test_directory_dataset_profiles_each_table_and_skips_the_rest(self):
        self.copy_example("iris.csv", "data/set/iris.csv")
        self.copy_example("patients.csv", "data/set/sub/patients.csv")
        self.write("data/set/README.txt", "not a table\n")
        self.ok("add", "data/set")
        self.ok("tag", "data/set", "v1")
        report = self.profile("data/set@v1")
        self.assertEqual([t["path"] for t in report["tables"]], ["iris.csv", "sub/patients.csv"])
        self.assertEqual(report["skipped"], ["README.txt"])
        self.assertEqual(report["dataset"], "data/set")
        self.assertTrue(report["version"].startswith("sha256:"))
        text = self.ok("profile", "data/set@v1").stdout
        self.assertIn("skipped README.txt (not a table)", text)
        shown = self.json("show", "data/set", "--profile")
        self.assertEqual([t["computed"] for t in shown["profile"]["tables"]], [False, False])

    def test_bad_input(self):
        self.write("notes.txt", "hello\n")
        self.fails("profile", "notes.txt", msg="holds no tabular file", hint="CSV")
        self.fails("profile", "nosuch@v1")
        self.fails("profile", "data/missing.csv")
        self.write("bad.csv", "a,b\n1,2\n3,\"unbalanced\n4,5\n")
        r = self.fails("profile", "bad.csv", msg="bad.csv:3")
        self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(self.repo, ".cairn", "refs", "derived")))  # nothing stored
        self.write("ragged.csv", "a,b\n1,2\n3,4,5\n")
        self.fails("profile", "ragged.csv", msg="ragged.csv:3")
        self.write("empty.csv", "")
        (table,) = self.profile("empty.csv")["tables"]
        self.assertEqual((table["profile"]["rows"], table["profile"]["columns"]), (0, []))
        self.fails("show", "nosuch", "--profile")


if __name__ == "__main__":
    unittest.main()
