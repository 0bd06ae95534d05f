"""Model signatures end to end: inferred at registration from the producing run's tabular
input (CSV, TSV, JSON Lines, Parquet through DuckDB), given with --signature, and compared with other data by
`cairn model check-signature` (exit 0 match, 1 mismatch, 2 error), in text and --json.

The expected schemas are written out by hand from the data the tests write, so the
inference is checked against what a person reads in the file.
"""

import json
import unittest

from cairn_testlib import CAIRN_BIN, ERROR, NEGATIVE, OK, CairnTestCase, duckdb_run

NO_DUCKDB = {"CAIRN_DUCKDB_LIBRARY": "/nonexistent/libduckdb.so"}

TRAIN = ("id,age,income,member,city\n"
         "1,34,52000.5,true,Lyon\n"
         "2,41,61000,false,\"Paris, 11e\"\n"
         "3,,48000.25,true,\n")


class ModelSignatureTest(CairnTestCase):

    def trained_run(self, inputs):
        self.write("model.bin", b"MODEL")
        args = ["run"]
        for i in inputs:
            args += ["-i", i]
        r = self.ok(*args, "--", "sh", "-c", "%s runs log -m mrr=0.7 -a model.bin" % CAIRN_BIN)
        return r.stderr.split("cairn: run ", 1)[1].split()[0]

    def track(self, rel, files, tag="v1"):
        """Tracks directory `rel` holding `files` ({name: text}) and tags it."""
        for name, text in files.items():
            self.write(rel + "/" + name, text.encode("latin-1"))
        self.ok("add", rel)
        self.ok("tag", rel, tag)

    def register(self, *extra, inputs=("data/train@v1",)):
        run = self.trained_run(inputs)
        return self.json("model", "register", "churn", "--run", run, "--artifact", "model.bin", *extra)

    def test_inferred_at_registration_and_checked(self):
        self.track("data/train", {"train.csv": TRAIN, "notes.txt": "not a table\n"})
        v = self.register()
        version = self.json("show", "data/train@v1")["version"]
        self.assertEqual(v["signature"]["columns"], [
            {"name": "id", "type": "integer"}, {"name": "age", "type": "integer"},
            {"name": "income", "type": "number"}, {"name": "member", "type": "boolean"},
            {"name": "city", "type": "string"}])
        self.assertEqual(v["signature"]["source"], "dataset:data/train@%s:train.csv" % version.split(":")[1])

        # The same columns in another order, integer incomes: a match (integer-as-number).
        self.write("batch/ok.csv", b"city,member,income,age,id\nNice,false,40000,29,9\n")
        r = self.ok("model", "check-signature", "churn@1", "batch/ok.csv")
        self.assertIn("MATCH", r.stdout)
        self.assertIn("integer-as-number", r.stdout)
        j = self.json("model", "check-signature", "churn@1", "batch/ok.csv")
        self.assertTrue(j["match"])
        self.assertEqual(j["compatible"], [{"name": "income", "expected": "number", "actual": "integer",
                                            "rule": "integer-as-number"}])
        self.assertEqual(j["data"]["source"], "file:batch/ok.csv")
        self.assertEqual(j["data"]["rows_sampled"], 1)

        # Missing, extra and retyped columns: exit 1, each named.
        self.write("batch/bad.tsv", b"id\tage\tincome\tmember\tzip\n1\t3.5\tx\tyes\t69001\n")
        r = self.fails("model", "check-signature", "churn@1", "batch/bad.tsv", code=NEGATIVE)
        self.assertIn("MISMATCH", r.stdout)
        r = self.cairn("model", "check-signature", "churn@1", "batch/bad.tsv", "--json")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        j = json.loads(r.stdout)
        self.assertFalse(j["match"])
        self.assertEqual(j["missing"], [{"name": "city", "type": "string"}])
        self.assertEqual(j["extra"], [{"name": "zip", "type": "integer"}])
        self.assertEqual({c["name"]: (c["expected"], c["actual"]) for c in j["retyped"]},
                         {"age": ("integer", "number"), "income": ("number", "string"),
                          "member": ("boolean", "string")})

        # --allow-extra: extra columns alone do not make a mismatch.
        self.write("batch/extra.csv", b"id,age,income,member,city,zip\n1,2,3.5,true,x,69001\n")
        self.fails("model", "check-signature", "churn@1", "batch/extra.csv", code=NEGATIVE)
        self.assertTrue(self.json("model", "check-signature", "churn@1", "batch/extra.csv", "--allow-extra")["match"])

        # A dataset ref, and a directory (its first table by name).
        self.track("data/eval", {"eval.jsonl": '{"id": 1, "age": 30, "income": 1.5, "member": true, "city": "x"}\n'
                                               '{"id": 2, "age": null, "income": 2, "member": false}\n'})
        j = self.json("model", "check-signature", "churn@1", "data/eval@v1")
        self.assertTrue(j["match"])  # no city in the second row is fine: the union of keys has it
        self.assertTrue(j["data"]["source"].startswith("dataset:data/eval@"))
        self.assertEqual(j["data"]["source"].rsplit(":", 1)[1], "eval.jsonl")
        self.assertTrue(self.json("model", "check-signature", "churn@1", "data/train")["match"])

    def test_given_signature_file_and_errors(self):
        self.track("data/train", {"train.csv": TRAIN})
        self.write("sig.json", json.dumps({"columns": [{"name": "age", "type": "number"}]}).encode())
        v = self.register("--signature", "sig.json")
        self.assertEqual(v["signature"], {"columns": [{"name": "age", "type": "number"}], "source": "file:sig.json"})
        self.write("batch/a.csv", b"age\n3\n")
        self.assertTrue(self.json("model", "check-signature", "churn@1", "batch/a.csv")["match"])

        # Bad input: exit 2 with what to do.
        self.fails("model", "check-signature", "churn@9", "batch/a.csv", msg="churn")
        self.fails("model", "check-signature", "nosuch@1", "batch/a.csv", msg="nosuch")
        self.fails("model", "check-signature", "churn@1", "batch/none.csv", msg="no file, directory or dataset")
        self.write("batch/model.pkl", b"\x80\x04")
        self.fails("model", "check-signature", "churn@1", "batch/model.pkl", msg="not a tabular file")
        self.write("batch/t.parquet", b"PAR1....PAR1")
        self.fails("model", "check-signature", "churn@1", "batch/t.parquet", env=NO_DUCKDB,
                   msg="cannot load the DuckDB library", hint="scripts/bootstrap")
        self.write("batch/open.csv", b'age\n"3\n')
        self.fails("model", "check-signature", "churn@1", "batch/open.csv",
                   msg="batch/open.csv:2: a quoted field is never closed")

    def test_parquet(self):
        """Parquet written by DuckDB: types come from DuckDB's text of each value (doc/data.md)."""
        self.write("data/train/README.md", b"the training set\n")
        duckdb_run("COPY (SELECT i AS id, 20 + i %% 50 AS age, i * 1000.5 AS income, i %% 2 = 0 AS member, "
                   "CASE WHEN i %% 3 = 0 THEN NULL ELSE 'c' || i END AS city, DATE '2024-01-01' + i::INTEGER AS day, "
                   "NULL::DOUBLE AS unused FROM range(12000) t(i)) TO '%s' (FORMAT parquet)"
                   % self.path("data/train/train.parquet"))
        self.ok("add", "data/train")
        self.ok("tag", "data/train", "v1")
        version = self.json("show", "data/train@v1")["version"].split(":")[1]
        run = self.trained_run(["data/train@v1"])
        v = self.json("model", "register", "churn", "--run", run, "--artifact", "model.bin")
        self.assertEqual(v["signature"]["columns"], [
            {"name": "id", "type": "integer"}, {"name": "age", "type": "integer"},
            {"name": "income", "type": "number"}, {"name": "member", "type": "boolean"},
            {"name": "city", "type": "string"}, {"name": "day", "type": "string"},
            {"name": "unused", "type": "string"}])
        self.assertEqual(v["signature"]["source"], "dataset:data/train@%s:train.parquet" % version)

        # The workspace file, the directory and the version: the first 10,000 rows sampled.
        for data in ("data/train/train.parquet", "data/train", "data/train@v1"):
            j = self.json("model", "check-signature", "churn@1", data)
            self.assertTrue(j["match"], data)
            self.assertEqual((j["data"]["rows_sampled"], j["data"]["complete"]), (10000, False), data)
            self.assertEqual(j["data"]["values"]["city"], 6666, data)
            self.assertEqual(j["data"]["values"]["unused"], 0, data)
            self.assertEqual(j["compatible"], [], data)
        self.assertEqual(self.json("model", "check-signature", "churn@1", "data/train")["data"]["source"],
                         "file:data/train/train.parquet")

        # CSV data checked against the Parquet signature; a retyped column.
        self.write("batch/ok.csv", b"id,age,income,member,city,day,unused\n1,2,3.5,true,x,2024-01-02,\n")
        self.assertTrue(self.json("model", "check-signature", "churn@1", "batch/ok.csv")["match"])
        duckdb_run("COPY (SELECT 'x' || i AS id, NULL::INTEGER AS age, 2.5 AS income, true AS member, 'c' AS city, "
                   "'d' AS day, NULL::DOUBLE AS unused FROM range(3) t(i)) TO '%s' (FORMAT parquet)"
                   % self.path("batch/bad.parquet"))
        r = self.cairn("model", "check-signature", "churn@1", "batch/bad.parquet", "--json")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        j = json.loads(r.stdout)
        self.assertEqual([(c["name"], c["actual"]) for c in j["retyped"]], [("id", "string")])
        # unused: string (no values) on both sides.
        self.assertEqual([(c["name"], c["rule"]) for c in j["compatible"]], [("age", "no-values")])

        # Not Parquet: the reader's message; no DuckDB: how to install it, and a registration
        # without a signature rather than a failed one.
        self.write("batch/t.parquet", b"PAR1....PAR1")
        self.fails("model", "check-signature", "churn@1", "batch/t.parquet", msg="batch/t.parquet as Parquet")
        self.fails("model", "check-signature", "churn@1", "data/train@v1", env=NO_DUCKDB,
                   msg="cannot load the DuckDB library", hint="scripts/bootstrap")
        v2 = self.json("model", "register", "churn", "--run", run, "--artifact", "model.bin", env=NO_DUCKDB)
        self.assertIsNone(v2["signature"])

    def test_no_tabular_input_means_no_signature(self):
        self.track("data/blobs", {"x.bin": "\x00\x01"})
        self.register(inputs=("data/blobs@v1",))
        self.assertIsNone(self.json("model", "show", "churn@1")["signature"])
        self.write("batch/a.csv", b"age\n3\n")
        self.fails("model", "check-signature", "churn@1", "batch/a.csv", msg="has no signature", hint="--signature")


if __name__ == "__main__":
    unittest.main()
