"""cairn diff --rows: row-level diff of the tables of two versions, or of a version and the
workspace, on the bundled patients data (examples/data/patients.csv): keyed and unkeyed,
schema changes, duplicate keys, the text/json/csv/daff formats, directory datasets with
non-tabular files, Parquet (through DuckDB), a fresh clone that pulled the versions, and bad
input. Expected counts are computed here with the csv module, independently of cairn."""

import csv
import io
import json
import os
import subprocess
import unittest

from cairn_testlib import ERROR, OK, CairnTestCase, duckdb_run


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def write_rows(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


class RowDiffTest(CairnTestCase):
    def setUp(self):
        super().setUp()
        self.copy_example("patients.csv", "data/patients.csv")
        self.v1 = read_rows(self.path("data/patients.csv"))
        self.ok("add", "data/patients.csv", "-m", "v1")
        self.ok("tag", "data/patients.csv", "v1")

    def make_v2(self):
        """Edits v1: bmi of ids 6-8 +1.5, age of id 9, rows 11 and 21 removed, id 443 added, and
        the same bp spelled with a trailing zero (101.0 -> 101.00: equal as numbers)."""
        header, rows = self.v1[0], [list(r) for r in self.v1[1:]]
        out = [header]
        for r in rows:
            i = int(r[0])
            if i in (11, 21):
                continue
            if i in (6, 7, 8):
                r[3] = "%.1f" % (float(r[3]) + 1.5)
            if i == 9:
                r[1] = "65"
            if i == 1:
                r[4] = r[4] + "0"
            out.append(r)
        out.append(["443", "50", "1", "25.0", "90.0", "180", "100.0", "50.0", "3.0", "4.5", "90", "120"])
        write_rows(self.path("data/patients.csv"), out)
        return out

    def test_keyed_diff_counts_and_cells(self):
        v2 = self.make_v2()
        self.ok("add", "data/patients.csv", "-m", "v2")
        self.ok("tag", "data/patients.csv", "v2")
        d = self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id")
        self.assertEqual(d["from"], "data/patients.csv@v1")
        [t] = d["tables"]
        old_ids = {r[0]: r for r in self.v1[1:]}
        new_ids = {r[0]: r for r in v2[1:]}
        modified = [k for k in old_ids if k in new_ids and
                    any(a != b and not (a.replace(".", "").isdigit() and float(a) == float(b))
                        for a, b in zip(old_ids[k][1:], new_ids[k][1:]))]
        self.assertEqual(t["rows"], {"from": 442, "to": 441, "added": len(set(new_ids) - set(old_ids)),
                                     "removed": len(set(old_ids) - set(new_ids)), "modified": len(modified),
                                     "unchanged": len(set(old_ids) & set(new_ids)) - len(modified)})
        self.assertEqual(t["rows"]["modified"], 4)
        self.assertEqual(t["schema"]["added"], [])
        self.assertEqual(t["schema"]["retyped"], [])
        by_kind = {}
        for c in t["changes"]:
            by_kind.setdefault(c["change"], []).append(c)
        self.assertEqual([c["key"] for c in by_kind["modified"]], [["6"], ["7"], ["8"], ["9"]])
        self.assertEqual(by_kind["modified"][0]["cells"],
                         [{"column": "bmi", "from": old_ids["6"][3], "to": new_ids["6"][3]}])
        self.assertEqual(by_kind["modified"][3]["cells"], [{"column": "age", "from": "60", "to": "65"}])
        self.assertEqual(sorted(c["key"][0] for c in by_kind["removed"]), ["11", "21"])
        removed_11 = [c for c in by_kind["removed"] if c["key"] == ["11"]][0]
        self.assertEqual(removed_11["from_row"], 11)
        self.assertEqual(removed_11["from_line"], 12)
        self.assertEqual(removed_11["values"]["bmi"], old_ids["11"][3])
        self.assertEqual(by_kind["added"][0]["values"]["id"], "443")
        self.assertFalse(t["truncated"])
        # Text: the changed cell, old -> new.
        r = self.ok("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id")
        self.assertIn("1 added, 2 removed, 4 modified, 436 unchanged (442 -> 441)", r.stdout)
        self.assertIn("~ id=9 (row 9 -> 9): age 60 -> 65", r.stdout)
        # --stat lists no rows; --limit 2 lists two and says how many more.
        d = self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id", "--stat")
        self.assertEqual(d["tables"][0]["changes"], [])
        self.assertEqual(d["tables"][0]["rows"]["modified"], 4)
        r = self.ok("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id", "--limit", "2")
        self.assertIn("... 5 more changed rows", r.stdout)
        # --columns: only age compared.
        d = self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id",
                      "--columns", "age")
        self.assertEqual(d["tables"][0]["compared"], ["age"])
        self.assertEqual(d["tables"][0]["rows"]["modified"], 1)
        # --tolerance 2: the bmi changes of 1.5 are within it, the age change is not.
        d = self.json("diff", "data/patients.csv@v1", "data/patients.csv@v2", "--rows", "--key", "id",
                      "--tolerance", "2")
        self.assertEqual(d["tables"][0]["rows"]["modified"], 1)
        self.assertEqual(d["tables"][0]["rows"]["unchanged"], 439)

    def test_workspace_unkeyed_and_formats(self):
        self.make_v2()
        # One ref: the version against the workspace.
        d = self.json("diff", "data/patients.csv@v1", "--rows")
        [t] = d["tables"]
        self.assertEqual(d["to"], "workspace")
        # Without a key every changed row is one removed and one added.
        self.assertEqual((t["rows"]["added"], t["rows"]["removed"], t["rows"]["modified"]), (5, 6, 0))
        self.assertNotIn("duplicate_keys", t)
        out = self.ok("diff", "data/patients.csv@v1", "--rows", "--key", "id", "--format", "csv").stdout
        lines = list(csv.reader(io.StringIO(out)))
        self.assertEqual(lines[0], ["file", "change", "old_row", "new_row", "key", "column", "old_value",
                                    "new_value"])
        self.assertIn(["patients.csv", "modified", "9", "9", "9", "age", "60", "65"], lines)
        self.assertIn(["patients.csv", "added", "", "441", "443", "target", "", "120"], lines)
        daff = self.ok("diff", "data/patients.csv@v1", "--rows", "--key", "id", "--format", "daff").stdout
        daff_lines = daff.splitlines()
        self.assertEqual(daff_lines[0], ",".join(["@@"] + self.v1[0]))
        self.assertIn("->,9,60->65," + ",".join(self.v1[9][2:]), daff_lines)
        self.assertTrue(any(l.startswith("---,11,") for l in daff_lines))
        self.assertTrue(any(l.startswith("+++,443,") for l in daff_lines))

    def test_schema_changes_and_duplicate_keys(self):
        header, rows = self.v1[0], self.v1[1:]
        # Drop s6, add a text column, make age a number, and give two rows id 5.
        new_header = [h for h in header if h != "s6"] + ["site"]
        out = [new_header]
        for r in rows:
            d = dict(zip(header, r))
            d["age"] = d["age"] + ".5" if d["id"] == "3" else d["age"]
            d["site"] = "north" if int(d["id"]) % 2 else "south"
            if d["id"] == "6":
                d["id"] = "5"
            out.append([d[h] for h in new_header])
        write_rows(self.path("data/patients.csv"), out)
        d = self.json("diff", "data/patients.csv@v1", "--rows", "--key", "id")
        [t] = d["tables"]
        self.assertEqual(t["schema"]["added"], [{"name": "site", "type": "string"}])
        self.assertEqual(t["schema"]["removed"], [{"name": "s6", "type": "integer"}])
        self.assertEqual(t["schema"]["retyped"], [{"name": "age", "from": "integer", "to": "number"}])
        self.assertNotIn("s6", t["compared"])
        self.assertNotIn("site", t["compared"])
        dup = t["duplicate_keys"]
        self.assertEqual((dup["keys"], dup["from_rows"], dup["to_rows"]), (1, 1, 2))
        self.assertEqual(dup["examples"], [{"key": ["5"], "from_rows": 1, "to_rows": 2}])
        # id 6 is gone; id 5 has two rows now, one of them the old id 5: matched, the other added.
        self.assertEqual(t["rows"]["removed"], 1)
        self.assertEqual(t["rows"]["added"], 1)
        self.assertEqual(t["rows"]["modified"], 1)  # id 3's age
        r = self.ok("diff", "data/patients.csv@v1", "--rows", "--key", "id")
        self.assertIn("schema: +site (string) -s6 (integer) ~age (integer -> number)", r.stdout)
        self.assertIn("duplicate keys: 1 key held by more than one row (1 rows before, 2 after), e.g. id=5",
                      r.stdout)

    def test_directory_dataset_with_files_and_a_clone(self):
        self.make_dataset_dir("data/mixed")
        self.copy_example("patients.csv", "data/mixed/patients.csv")
        self.write("data/mixed/scan.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        self.write("data/mixed/notes.txt", b"first notes\n")
        self.ok("add", "data/mixed", "-m", "v1")
        self.ok("tag", "data/mixed", "v1")
        rows = read_rows(self.path("data/mixed/patients.csv"))
        rows[5][1] = "99"
        write_rows(self.path("data/mixed/patients.csv"), rows)
        self.write("data/mixed/scan.png", b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)))
        self.write("data/mixed/new.txt", b"more\n")
        self.ok("add", "data/mixed", "-m", "v2")
        self.ok("tag", "data/mixed", "v2")
        d = self.json("diff", "data/mixed@v1", "data/mixed@v2", "--rows", "--key", "id")
        self.assertEqual([t["path"] for t in d["tables"]], ["patients.csv"])
        self.assertEqual(d["tables"][0]["rows"]["modified"], 1)
        self.assertEqual(d["tables"][0]["changes"][0]["cells"], [{"column": "age", "from": self.v1[5][1],
                                                                  "to": "99"}])
        self.assertEqual(d["unchanged_tables"], 3)
        self.assertEqual(sorted((f["path"], f["change"]) for f in d["other_files"]),
                         [("new.txt", "added"), ("scan.png", "modified")])
        # --key id: the other tables (iris, wine …) have no id column, but they did not change.
        # A fresh clone that pulled both versions can diff them too.
        remote = os.path.join(self.tmp, "remote")
        self.ok("remote", "add", "origin", remote)
        self.ok("push")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "data")
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", self.repo, clone], env=self.env, check=True)
        self.ok("pull", "data/mixed@v1", cwd=clone)
        self.ok("pull", "data/mixed@v2", cwd=clone)
        d2 = self.json("diff", "data/mixed@v1", "data/mixed@v2", "--rows", "--key", "id", cwd=clone)
        self.assertEqual(d2["tables"], d["tables"])

    def test_directory_key_applies_to_the_tables_that_have_it(self):
        self.write("data/d/t.csv", b"id,v\n1,a\n2,b\n")
        self.ok("add", "data/d")
        self.ok("tag", "data/d", "v1")
        self.write("data/d/t.csv", b"id,v\n1,a\n2,c\n")
        self.write("data/d/other.csv", b"x,y\n1,2\n")
        self.ok("add", "data/d")
        self.ok("tag", "data/d", "v2")
        d = self.json("diff", "data/d@v1", "data/d@v2", "--rows", "--key", "id")
        by_path = {t["path"]: t for t in d["tables"]}
        self.assertEqual(by_path["t.csv"]["key"], ["id"])
        self.assertEqual(by_path["t.csv"]["rows"]["modified"], 1)
        self.assertEqual(by_path["other.csv"]["key"], [])
        self.assertIn("lacks a key column", by_path["other.csv"]["note"])
        # A key no changed table has is a typo.
        self.fails("diff", "data/d@v1", "data/d@v2", "--rows", "--key", "idd",
                   msg="no changed table of data/d@v1 has the key column(s) idd")

    def test_plain_directories(self):
        # Two workspace directories: other files are hashed only to compare them.
        for side, png in (("da", b"\x89PNG one"), ("db", b"\x89PNG two")):
            self.write(side + "/t.csv", b"id,v\n1,a\n")
            self.write(side + "/same.txt", b"same\n")
            self.write(side + "/img.png", png)
        self.write("db/extra.txt", b"new\n")
        d = self.json("diff", "da", "db", "--rows", "--key", "id")
        self.assertEqual(d["tables"], [])
        self.assertEqual(d["unchanged_tables"], 1)
        self.assertEqual(sorted((f["path"], f["change"]) for f in d["other_files"]),
                         [("extra.txt", "added"), ("img.png", "modified")])

    def test_parquet_versions(self):
        src = self.path("data/patients.csv")
        pq = self.path("data/p.parquet")
        duckdb_run("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet)" % (src, pq))
        self.ok("add", "data/p.parquet", "-m", "v1")
        self.ok("tag", "data/p.parquet", "v1")
        duckdb_run("COPY (SELECT * REPLACE (CASE WHEN id = 4 THEN 77 ELSE age END AS age) FROM read_csv('%s') "
                   "WHERE id <> 10) TO '%s' (FORMAT parquet)" % (src, pq))
        d = self.json("diff", "data/p.parquet@v1", "--rows", "--key", "id")
        [t] = d["tables"]
        self.assertEqual((t["rows"]["modified"], t["rows"]["removed"], t["rows"]["added"]), (1, 1, 0))
        mod = [c for c in t["changes"] if c["change"] == "modified"][0]
        self.assertEqual(mod["cells"], [{"column": "age", "from": self.v1[4][1], "to": "77"}])
        types = {c["name"]: c["type"] for c in t["schema"]["to"]}
        self.assertEqual(types["bmi"], "number")
        self.assertEqual(types["id"], "integer")

    def test_bad_input(self):
        self.make_v2()
        self.fails("diff", "data/patients.csv@v1", "--rows", "--key", "idd", msg="key column 'idd' is not a column",
                   hint="did you mean 'id'")
        self.fails("diff", "data/patients.csv@v1", "--key", "id", msg="need --rows")
        self.fails("diff", "data/patients.csv@v1", "--rows", "--tolerance", "0.1", msg="--tolerance",
                   hint="--key")
        self.fails("diff", "data/patients.csv@v1", "--rows", "--limit", "-1", msg="--limit")
        self.fails("diff", "data/patients.csv@v1", "data/patients.csv@v1", "--rows", msg="the same version")
        self.fails("diff", "data/nothing@v1", "--rows", msg="nothing")
        # A ragged row and an unbalanced quote: the file and the line.
        self.write("a.csv", b"x,y\n1,2\n")
        self.write("b.csv", b"x,y\n1,2\n3,4,5\n")
        self.fails("diff", "a.csv", "b.csv", "--rows", msg="b.csv:3: this row has 3 fields")
        self.write("b.csv", b'x,y\n1,2\n3,"open\n4,5\n')
        self.fails("diff", "a.csv", "b.csv", "--rows", msg="b.csv:3: a quoted field is never closed")
        self.write("b.csv", b"x,y\n1,\xff\xfe\n")
        self.fails("diff", "a.csv", "b.csv", "--rows", msg="b.csv:2: invalid UTF-8")
        self.write("b.csv", b"x,y\n1,\x00\x01\n")
        self.fails("diff", "a.csv", "b.csv", "--rows", msg="NUL byte")
        # An empty file is a table without rows: everything removed.
        self.write("b.csv", b"")
        d = self.json("diff", "a.csv", "b.csv", "--rows")
        self.assertEqual(d["tables"][0]["rows"]["removed"], 1)
        # A file compared with itself is refused; a copy of it has no differences.
        self.fails("diff", "a.csv", "a.csv", "--rows", msg="the same file")
        # Two versions of different datasets with the same bytes share a cached blob: unchanged.
        self.ok("add", "a.csv", "-m", "a")
        self.write("a3.csv", b"x,y\n1,2\n")
        self.ok("add", "a3.csv", "-m", "a3")
        d = self.json("diff", "a.csv@latest", "a3.csv@latest", "--rows")
        self.assertEqual((d["tables"], d["unchanged_tables"]), ([], 1))
        self.write("a2.csv", b'x,y\r\n"1",2\r\n')
        d = self.json("diff", "a.csv", "a2.csv", "--rows")
        self.assertEqual((d["tables"], d["unchanged_tables"]), ([], 1))
        # Lone CR line endings, a key given twice, --columns comparing nothing, two formats.
        self.write("cr.csv", b"x,y\r1,2\r")
        self.fails("diff", "a.csv", "cr.csv", "--rows", msg="lone carriage return")
        self.fails("diff", "a.csv", "a2.csv", "--rows", "--key", "x,x", msg="given twice")
        self.fails("diff", "a.csv", "a2.csv", "--rows", "--key", "x", "--columns", "x", msg="nothing would be compared")
        self.fails("diff", "a.csv", "a2.csv", "--rows", "--json", "--format", "csv", msg="two formats")
        # Control characters in cells are escaped in the text output.
        self.write("esc.csv", b'x,y\n1,"\x1b[31mred\rX"\n')
        r = self.ok("diff", "a.csv", "esc.csv", "--rows", "--key", "x")
        self.assertIn("\\x1b[31mred\\rX", r.stdout)
        self.assertNotIn("\x1b", r.stdout)


if __name__ == "__main__":
    unittest.main()
