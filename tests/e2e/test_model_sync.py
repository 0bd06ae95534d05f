"""Sharing the model registry through remotes: `cairn push` carries model versions (objects,
artifacts, the producing runs), aliases, approvals and deprecations; `cairn pull` brings them
back verified. Version numbers are immutable (the same number naming other objects is a
conflict), approvals and deprecations merge by union, and an alias moved on the remote since
this clone last synced is refused on push until a pull, like a non-fast-forward.

Two clones (A: the test repository, B: a git clone of it) share a directory remote, and the
same story runs against S3 (moto on loopback), checked independently with boto3.
"""

import json
import re
import os
import shutil
import unittest

import test_remote as tr
from cairn_testlib import CAIRN_BIN, ERROR, OK, sha256_bytes


class ModelSyncMixin:

    remote_name = "origin"

    def trained_run(self, data, cwd=None):
        """A finished run (by `cairn run`) that logged model.bin holding `data`; returns its id."""
        where = cwd or self.repo
        with open(os.path.join(where, "model.bin"), "wb") as f:
            f.write(data)
        r = self.ok("run", "--", "sh", "-c", "%s runs log -m mrr=0.7 -a model.bin" % CAIRN_BIN, cwd=cwd)
        return r.stderr.split("cairn: run ", 1)[1].split()[0]

    def register(self, data, cwd=None):
        run = self.trained_run(data, cwd=cwd)
        return self.json("model", "register", "churn", "--run", run, "--artifact", "model.bin", cwd=cwd)

    def versions(self, cwd=None):
        return {v["version"]: v for v in self.json("model", "versions", "churn", cwd=cwd)}

    def aliases(self, cwd=None):
        return {v["version"]: v["aliases"] for v in self.json("model", "versions", "churn", cwd=cwd)}

    def refused_push(self, cwd=None):
        r = self.cairn("push", "--json", cwd=cwd)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("cairn: error: ", r.stderr)
        return json.loads(r.stdout), r.stderr

    def remote_audit_lines(self):
        """Every line of the remote's audit segments, sorted."""
        lines = []
        for root, _, files in os.walk(self.rpath("audit")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    lines += f.read().splitlines()
        return sorted(lines)

    def setup_clones(self):
        """A registers churn@1 and @2, moves production to 1, approves 1 and pushes; B (a git
        clone) pulls. Returns B's path."""
        self.commit(message="config")
        self.v1 = self.register(b"MODEL-ONE")
        self.v2 = self.register(b"MODEL-TWO")
        self.ok("model", "alias", "churn@1", "production")
        self.ok("model", "approve", "churn@1", "-m", "looks good")
        rep = self.push()
        self.assertEqual(rep["model_versions"], 2, rep)
        self.assertEqual(rep["models"], 1, rep)
        self.assertEqual(rep["aliases"], 1, rep)
        self.assertEqual(rep["approvals"], 1, rep)
        self.assertEqual(rep["refused"], [], rep)
        b = self.clone("b")
        rep = self.pull(cwd=b)
        self.assertEqual((rep["model_versions"], rep["aliases"], rep["approvals"]), (2, 1, 1), rep)
        return b

    def scenario(self):
        b = self.setup_clones()
        # B sees what A made, byte for byte.
        vb = self.versions(cwd=b)
        self.assertEqual(sorted(vb), [1, 2])
        self.assertEqual(vb[1]["object"], self.v1["object"])
        self.assertEqual(vb[1]["aliases"], ["production"])
        self.assertEqual([a["message"] for a in vb[1]["approvals"]], ["looks good"])
        self.assertEqual(self.json("runs", "show", self.v1["run"], cwd=b)["id"], self.v1["run"])
        out = os.path.join(self.tmp, "deploy")
        self.ok("model", "get", "churn@production", "-o", out, cwd=b)
        with open(os.path.join(out, "model.bin"), "rb") as f:
            self.assertEqual(f.read(), b"MODEL-ONE")
        with open(os.path.join(out, "provenance.json")) as f:
            self.assertEqual(json.load(f)["version"], 1)

        # Nothing new: a second pull and push write nothing.
        rep = self.pull(cwd=b)
        self.assertEqual((rep["model_versions"], rep["aliases"]), (0, 0), rep)

        # B registers churn@3, moves production there and pushes.
        v3 = self.register(b"MODEL-THREE", cwd=b)
        self.assertEqual(v3["version"], 3)
        self.ok("model", "alias", "churn@3", "production", cwd=b)
        rep = self.push(cwd=b)
        self.assertEqual((rep["model_versions"], rep["aliases"], rep["refused"]), (1, 1, []), rep)

        # A has not pulled; it moves production too: refused, with the pull hint, nothing moved there.
        self.ok("model", "alias", "churn@1", "staging")
        self.ok("model", "alias", "churn@2", "production")
        rep, err = self.refused_push()
        self.assertEqual(len(rep["refused"]), 1, rep)
        self.assertIn("alias churn@production was moved on the remote", rep["refused"][0])
        self.assertIn("cairn pull", err)
        self.assertEqual(rep["aliases"], 1, rep)  # staging went
        self.assertEqual(self.aliases(cwd=b)[3], ["production"])

        # A pulls: both moved, so A's is kept with a warning naming both versions; then A can push.
        r = self.cairn("pull", "--json")
        self.assertEqual(r.returncode, OK, self.describe(r))
        rep = json.loads(r.stdout)
        self.assertTrue(any("production" in w and "v2" in w and "v3" in w for w in rep["warnings"]), rep)
        self.assertEqual(self.versions()[3]["object"], v3["object"])
        self.assertEqual(self.aliases()[2], ["production"])
        rep = self.push()
        self.assertEqual((rep["aliases"], rep["refused"]), (1, []), rep)

        # B has not moved production since its push: its pull takes A's.
        rep = self.pull(cwd=b)
        self.assertEqual(self.aliases(cwd=b)[2], ["production"])
        self.assertEqual(self.aliases(cwd=b)[1], ["staging"])
        self.assertEqual(self.aliases(cwd=b)[3], [])
        return b


class ModelSyncDirectory(ModelSyncMixin, tr.RemoteTestCase):

    def test_clones_share_versions_aliases_and_approvals(self):
        self.scenario()
        # Remote gc, from a clone with no registry of its own, keeps every registered artifact:
        # the remote's model refs are roots.
        gcer = self.clone("gcer")
        self.json("gc", "--remote", "origin", "--grace", "0", "--apply", cwd=gcer)
        self.fsck_remote()
        fresh = self.clone("fresh")
        self.pull(cwd=fresh)
        out = os.path.join(self.tmp, "fresh-get")
        self.ok("model", "get", "churn@3", "-o", out, cwd=fresh)
        with open(os.path.join(out, "model.bin"), "rb") as f:
            self.assertEqual(f.read(), b"MODEL-THREE")

    def test_same_version_number_twice_is_a_conflict(self):
        b = self.setup_clones()
        mine = self.register(b"A-THREE")
        theirs = self.register(b"B-THREE", cwd=b)
        self.assertEqual((mine["version"], theirs["version"]), (3, 3))
        self.push(cwd=b)
        remote_log = self.remote_audit_lines()
        rep, err = self.refused_push()
        # The refused push publishes no audit entry: the remote's log holds no registration of
        # a churn@3 that the remote does not hold.
        self.assertEqual(self.remote_audit_lines(), remote_log)
        self.assertEqual(rep["audit"], 0, rep)
        self.assertTrue(any("audit entries were not pushed" in n for n in rep["notes"]), rep)
        self.assertIn("churn@3", err)
        self.assertIn(mine["object"], rep["refused"][0])
        self.assertIn(theirs["object"], rep["refused"][0])
        self.assertEqual(rep["model_versions"], 0, rep)
        # Pull skips the remote's version 3 with a warning; A's stays.
        rep = self.pull()
        self.assertTrue(any("churn@3" in w and "skipped" in w for w in rep["warnings"]), rep)
        self.assertEqual(self.versions()[3]["object"], mine["object"])

    def test_approvals_and_deprecations_merge_by_union(self):
        b = self.setup_clones()
        self.ok("model", "deprecate", "churn@2", "-m", "leaky")
        self.ok("model", "approve", "churn@1", "-m", "from A")
        self.ok("model", "approve", "churn@1", "-m", "from B", cwd=b)
        rep = self.push()
        self.assertEqual((rep["approvals"], rep["deprecations"]), (1, 1), rep)
        self.assertEqual(self.push(cwd=b)["approvals"], 1)
        self.assertEqual(self.pull()["approvals"], 1)
        rep = self.pull(cwd=b)
        self.assertEqual((rep["approvals"], rep["deprecations"]), (1, 1), rep)
        self.assertTrue(self.versions(cwd=b)[2]["deprecated"])
        for where in (None, b):
            msgs = sorted(a["message"] for a in self.versions(cwd=where)[1]["approvals"])
            self.assertEqual(msgs, ["from A", "from B", "looks good"])

    def test_without_the_seen_state_a_differing_remote_alias_is_refused(self):
        b = self.setup_clones()
        shutil.rmtree(os.path.join(self.repo, ".cairn", "remotes"))
        self.ok("model", "alias", "churn@1", "production")  # moved again here
        rep, err = self.refused_push()
        self.assertIn("alias churn@production", rep["refused"][0])
        self.assertEqual(self.pull()["refused"], [])
        self.push()

    def test_a_remote_alias_that_disagrees_with_its_audit_entry_is_not_taken(self):
        b = self.setup_clones()
        self.ok("model", "alias", "churn@2", "production", "-m", "v2 is better")
        self.push()
        self.pull(cwd=b)
        self.assertEqual(self.aliases(cwd=b)[2], ["production"])
        # Someone with write access to the remote points production back at version 1, keeping
        # the ref's audit entry (which records the move to 2), and claims another user.
        path = self.rpath("refs", "models", "churn", "aliases", "production")
        with open(path) as f:
            text = f.read()
        forged = re.sub(r"(?m)^version 2$", "version 1", text)
        forged = re.sub(r"(?m)^object .*$", "object " + self.v1["object"], forged)
        forged = re.sub(r"(?m)^user .*$", "user Mallory <m@example.org>", forged)
        self.assertNotEqual(forged, text)
        with open(path, "w") as f:
            f.write(forged)
        rep = self.pull(cwd=b)
        self.assertTrue(any("churn@production" in w and "audit entry" in w and "skipped" in w
                            for w in rep["warnings"]), rep)
        self.assertEqual(self.aliases(cwd=b)[1], [], "the forged move was taken")
        self.assertEqual(self.aliases(cwd=b)[2], ["production"])
        # A move the log records arrives in a fresh clone.
        with open(path, "w") as f:
            f.write(text)
        fresh = self.clone("fresh")
        self.pull(cwd=fresh)
        self.assertEqual(self.aliases(cwd=fresh)[2], ["production"])
        # An alias naming an entry the log does not hold is not taken either.
        with open(path, "w") as f:
            f.write(re.sub(r"(?m)^audit .*$", "audit " + "ab" * 32, text))
        other = self.clone("other")
        rep = self.pull(cwd=other)
        self.assertTrue(any("not in the audit log" in w for w in rep["warnings"]), rep)
        self.assertEqual(self.aliases(cwd=other)[2], [])

    def test_remote_approvals_and_alias_deletions_need_their_audit_entries(self):
        b = self.setup_clones()
        # A forged approval: a copy of A's with another user, under a made-up entry id.
        adir = self.rpath("refs", "models", "churn", "approvals", "1")
        (real,) = os.listdir(adir)
        with open(os.path.join(adir, real)) as f:
            text = f.read()
        forged = "ee" * 32
        with open(os.path.join(adir, forged), "w") as f:
            f.write(re.sub(r"(?m)^user .*$", "user Eve <eve@example.org>", text))
        rep = self.pull(cwd=b)
        self.assertTrue(any("approval of churn@1" in w and "not in the audit log" in w for w in rep["warnings"]), rep)
        users = [a["user"] for a in self.versions(cwd=b)[1]["approvals"]]
        self.assertNotIn("Eve <eve@example.org>", users)
        os.remove(os.path.join(adir, forged))
        # The remote's alias emptied, then removed, by hand: B keeps production.
        path = self.rpath("refs", "models", "churn", "aliases", "production")
        with open(path, "w"):
            pass
        rep = self.pull(cwd=b)
        self.assertTrue(any("empty file" in w for w in rep["warnings"]), rep)
        os.remove(path)
        rep = self.pull(cwd=b)
        self.assertTrue(any("no audit entry records its deletion" in w for w in rep["warnings"]), rep)
        self.assertEqual(self.aliases(cwd=b)[1], ["production"])
        # A deletion the log records arrives.
        self.push(cwd=b)  # puts production back on the remote
        self.pull()
        self.ok("model", "alias", "churn", "production", "--delete")
        self.push()
        self.pull(cwd=b)
        self.assertEqual(self.aliases(cwd=b)[1], [])

    def test_model_targets_and_bad_remote_refs(self):
        self.commit(message="config")
        self.register(b"ONE")
        rep = self.push("model:churn")
        self.assertEqual(rep["model_versions"], 1)
        self.assertEqual(rep["versions"], 0)  # no dataset went
        os.makedirs(self.rpath("refs", "models", "bad name!", "versions"))
        with open(self.rpath("refs", "models", "bad name!", "versions", "1"), "w") as f:
            f.write("sha256:" + "0" * 64 + "\n")
        b = self.clone("b")
        rep = self.pull(cwd=b)
        self.assertEqual(rep["model_versions"], 1)
        self.assertTrue(any("bad name!" in w for w in rep["warnings"]), rep)
        self.fails("push", "model:no/such", msg="model")


class ModelSyncS3(ModelSyncMixin, tr.S3TestCase):

    remote_name = "s3r"

    def test_clones_share_versions_aliases_and_approvals(self):
        self.scenario()
        keys = self.s3_objects()
        self.assertIn("refs/models/churn/versions/3", keys)
        self.assertIn("refs/models/churn/aliases/production", keys)
        self.assertEqual(self.s3_get("refs/models/churn/versions/1").decode().strip(), self.v1["object"])
        alias = self.s3_get("refs/models/churn/aliases/production").decode()
        self.assertIn("version 2\n", alias)  # A's move, published after its pull
        self.assertTrue(any(k.startswith("refs/models/churn/approvals/1/") for k in keys))


if __name__ == "__main__":
    unittest.main()
