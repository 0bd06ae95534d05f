"""The ref grammar: name, name@tag, name@<oid prefix>, name@latest, name~N, paths."""

import os
import sqlite3
import unittest

from cairn_testlib import CairnTestCase


class Refs(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.copy_example("iris.csv", "data/iris.csv")
        self.v1 = self.add1("data/iris.csv", name="iris", message="v1")["version"]
        self.ok("tag", "iris", "v1.0")
        self.c1 = self.commit(message="v1")
        self.append("data/iris.csv", "1,1,1,1,1\n")
        self.v2 = self.add1("data/iris.csv", message="v2")["version"]
        self.append("data/iris.csv", "2,2,2,2,2\n")
        self.v3 = self.add1("data/iris.csv", message="v3")["version"]
        self.commit(message="v3")

    def resolve(self, ref, cwd=None):
        return self.json("show", ref, cwd=cwd)["version"]

    def test_name_is_the_workspace_pointer(self):
        self.assertEqual(self.resolve("iris"), self.v3)
        self.assertEqual(self.json("show", "iris")["path"], "data/iris.csv")

    def test_tag(self):
        self.assertEqual(self.resolve("iris@v1.0"), self.v1)
        self.assertEqual(self.resolve("iris@v1.0~0"), self.v1)

    def test_oid_prefix(self):
        for n in (7, 8, 12, 64):
            with self.subTest(digits=n):
                self.assertEqual(self.resolve("iris@" + self.v2[7:7 + n]), self.v2)
        self.assertEqual(self.resolve("iris@" + self.v2[7:17].upper()), self.v2)
        self.assertEqual(self.resolve("iris@" + self.v1[7:14] + "~0"), self.v1)

    def test_short_prefix_is_not_an_oid(self):
        self.fails("show", "iris@" + self.v2[7:13], msg="has no tag '%s'" % self.v2[7:13],
                   hint="its tags here: v1.0")

    def test_unknown_oid_prefix(self):
        prefix = next(p for p in ("0000000", "fffffff", "1234567")
                      if not any(v[7:].startswith(p) for v in (self.v1, self.v2, self.v3)))
        self.fails("show", "iris@" + prefix, msg="no version of iris has an oid starting with " + prefix,
                   hint="cairn log iris")

    def test_prefix_of_another_datasets_version(self):
        self.copy_example("wine_data.csv", "wine.csv")
        other = self.add1("wine.csv")["version"]
        self.fails("show", "iris@" + other[7:19], msg="no version of iris has an oid starting with")

    def test_latest(self):
        # Move the workspace pointer back to v1 with git: the name follows the
        # pointer, @latest stays on the newest version made in this clone.
        self.git("checkout", "-q", self.c1, "--", "data/iris.csv.cairn")
        self.assertEqual(self.resolve("iris"), self.v1)
        self.assertEqual(self.resolve("iris@latest"), self.v3)
        self.assertEqual(self.resolve("iris@latest~2"), self.v1)
        log = self.json("log", "iris@latest")
        self.assertEqual([e["version"] for e in log], [self.v3, self.v2, self.v1])

    def test_tilde(self):
        self.assertEqual(self.resolve("iris~0"), self.v3)
        self.assertEqual(self.resolve("iris~1"), self.v2)
        self.assertEqual(self.resolve("iris~2"), self.v1)
        self.assertEqual(self.resolve("iris@latest~1"), self.v2)
        self.assertEqual([e["version"] for e in self.json("log", "iris~1")], [self.v2, self.v1])

    def test_tilde_too_far(self):
        r = self.fails("show", "iris~3", msg="ref 'iris~3' goes back 3 versions")
        # v3 has two versions before it; the message must not contradict itself.
        self.assertIn("has only 2 before that point", r.stderr)
        self.fails("show", "iris~99", msg="goes back 99 versions")

    def test_bad_syntax(self):
        self.fails("show", "iris~x", msg="'~' must be followed by a number")
        self.fails("show", "iris~", msg="'~' must be followed by a number")
        self.fails("show", "iris~-1", msg="'~' must be followed by a number")
        self.fails("show", "iris@", msg="nothing after '@'")
        self.fails("show", "", msg="empty ref")

    def test_path_in_place_of_name(self):
        for ref in ("data/iris.csv", "./data/iris.csv", "data/iris.csv.cairn", self.path("data/iris.csv"),
                    "data/../data/iris.csv"):
            with self.subTest(ref=ref):
                s = self.json("show", ref)
                self.assertEqual((s["dataset"], s["version"], s["path"]), ("iris", self.v3, "data/iris.csv"))
        # Relative to the current directory.
        self.assertEqual(self.resolve("iris.csv", cwd=self.path("data")), self.v3)
        self.assertEqual(self.resolve("iris.csv@v1.0", cwd=self.path("data")), self.v1)
        self.assertEqual(self.resolve("data/iris.csv~2"), self.v1)
        self.assertEqual(self.resolve("data/iris.csv@" + self.v2[7:15]), self.v2)
        self.assertEqual(self.resolve("data/iris.csv@latest"), self.v3)

    def test_unknown_dataset(self):
        r = self.fails("show", "nope", msg="unknown dataset 'nope' in ref 'nope'", hint="known datasets: iris")
        self.assertEqual(r.stdout, "")
        self.fails("log", "nope@v1.0", msg="unknown dataset 'nope'", hint="known datasets: iris")
        self.fails("ls", "data/nope.csv", msg="unknown dataset 'data/nope.csv'")
        self.fails("diff", "iris", "nope~1", msg="unknown dataset 'nope'")

    def test_unknown_tag(self):
        self.fails("show", "iris@v9", msg="dataset iris has no tag 'v9'", hint="its tags here: v1.0")

    def test_ambiguous_prefix_lists_candidates(self):
        # Two versions sharing 8 hex digits cannot be made on purpose; record a
        # second one in the version index (state.db) the way a fetch would.
        raw = bytes.fromhex(self.v2[7:])
        twin = raw[:4] + bytes(b ^ 0x5A for b in raw[4:])
        db = sqlite3.connect(os.path.join(self.cairn_dir, "state.db"))
        with db:
            db.execute("INSERT INTO versions VALUES (?, ?, ?)", (twin, "iris", 1))
        db.close()
        prefix = self.v2[7:15]
        r = self.fails("show", "iris@" + prefix, msg="ref 'iris@%s' is ambiguous; candidates:" % prefix,
                       hint="give more digits")
        self.assertIn("iris@" + self.v2[7:23], r.stderr)
        self.assertIn("iris@" + twin.hex()[:16], r.stderr)
        # More digits pick one.
        self.assertEqual(self.resolve("iris@" + self.v2[7:23]), self.v2)

    def test_history_without_workspace_pointer(self):
        os.remove(self.path("data/iris.csv.cairn"))
        s = self.json("show", "iris")
        self.assertEqual((s["version"], s["path"]), (self.v3, ""))
        self.assertEqual(self.resolve("iris@v1.0"), self.v1)
        self.assertEqual(self.resolve("iris~1"), self.v2)

    def test_rebuilt_state_db(self):
        # state.db only holds indexes: without it, every ref still resolves.
        for n in ("state.db", "state.db-wal", "state.db-shm"):
            p = os.path.join(self.cairn_dir, n)
            if os.path.exists(p):
                os.remove(p)
        self.assertEqual(self.resolve("iris"), self.v3)
        self.assertEqual(self.resolve("iris@v1.0"), self.v1)
        self.assertEqual(self.resolve("iris@latest"), self.v3)
        self.assertEqual(self.resolve("iris@" + self.v3[7:15]), self.v3)
        # A version no pointer, tag or @latest names is still found by prefix,
        # in the store itself.
        self.assertEqual(self.resolve("iris@" + self.v2[7:15]), self.v2)
        self.assertEqual(self.ok("ls", "iris@v1.0").stdout, "iris.csv\n")


if __name__ == "__main__":
    unittest.main()
