"""The audit log through the real binary: governance events append entries, verify names
damage made by hand (exit 1), interrupted appends recover, concurrent appends form one chain,
and push/pull carry the entries between clones (directory remote and S3 on moto)."""

import hashlib
import json
import os
import shutil
import subprocess
import unittest

from cairn_testlib import ERROR, NEGATIVE, OK, CAIRN_BIN
from test_remote import RemoteTestCase, S3TestCase, random_bytes


def log_path(repo):
    return os.path.join(repo, ".cairn", "audit", "log")


def head_path(repo):
    return os.path.join(repo, ".cairn", "audit", "HEAD")


def read_lines(repo):
    with open(log_path(repo), "rb") as f:
        return f.read().split(b"\n")[:-1]


def write_lines(repo, lines):
    with open(log_path(repo), "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))


def entry_id(line):
    return hashlib.sha256(line.split(b"\t", 1)[0]).hexdigest()


def body(prev, action, reason="", time_ms=1764633600000):
    """An entry body written from the format doc (doc/formats.md, "Audit log")."""
    fields = [("prev", sorted(prev)), ("time_ms", time_ms), ("user", "Mallory <m@example.com>"), ("host", "h"),
              ("action", action), ("subjects", ["dataset:data@v9"]), ("reason", reason), ("details", {})]
    return ("{" + ",".join(json.dumps(k) + ":" + json.dumps(v, separators=(",", ":"), ensure_ascii=False)
                           for k, v in fields) + "}").encode()


class AuditCase(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.write("data/a.bin", random_bytes(3000, 1))
        self.add("data/a.bin")
        self.commit(message="v1")

    def golden(self, tag, cwd=None, message="frozen"):
        self.ok("tag", "data/a.bin", tag, "--golden", "-m", message, cwd=cwd)

    def verify(self, *args, code=OK, cwd=None):
        r = self.cairn("audit", "verify", "--json", *args, cwd=cwd)
        self.assertEqual(r.returncode, code, self.describe(r))
        return json.loads(r.stdout)


class GovernanceEvents(AuditCase):

    def test_golden_tag_and_tag_delete_are_entries(self):
        self.golden("v1")
        self.ok("tag", "data/a.bin", "tmp1")  # not golden: no entry
        self.ok("tag", "--delete", "data/a.bin@tmp1")
        entries = self.json("audit", "log")
        self.assertEqual([e["action"] for e in entries], ["tag.golden", "tag.delete"])
        first, second = entries
        self.assertEqual(first["prev"], [])
        self.assertEqual(second["prev"], [first["id"]])
        self.assertEqual(first["subjects"][0], "dataset:data/a.bin@v1")
        self.assertTrue(first["subjects"][1].startswith("sha256:"))
        self.assertEqual(first["reason"], "frozen")
        self.assertEqual(first["user"], "Test User <test@example.com>")
        self.assertIsNone(first["signature"])
        rep = self.verify()
        self.assertTrue(rep["ok"])
        self.assertEqual(rep["entries"], 2)
        self.assertEqual(rep["heads"], [second["id"]])
        text = self.ok("audit", "log").stdout
        self.assertIn("tag.golden", text)
        self.assertIn("Test User <test@example.com> @ ", text)
        self.assertIn("subjects: dataset:data/a.bin@v1", text)
        self.assertIn(first["id"][:12], text)
        self.assertIn("entries intact", self.ok("audit", "verify").stdout)

    def test_queries(self):
        self.golden("v1")
        self.golden("v2")
        self.ok("gc", "--apply")
        self.assertEqual(len(self.json("audit", "log", "--subject", "dataset:data/a.bin")), 2)
        self.assertEqual(len(self.json("audit", "log", "--subject", "dataset:data/a.bin@v2")), 1)
        self.assertEqual([e["action"] for e in self.json("audit", "log", "--action", "tag.")], ["tag.golden"] * 2)
        gc = self.json("audit", "log", "--action", "gc")
        self.assertEqual(len(gc), 1)
        self.assertIn("objects_removed", gc[0]["details"])
        newest = self.json("audit", "log", "-n", "1")
        self.assertEqual([e["action"] for e in newest], ["gc"])
        self.assertEqual(len(self.json("audit", "log", "--since", "2000-01-01")), 3)
        self.assertEqual(len(self.json("audit", "log", "--since", "2999-01-01T00:00:00Z")), 0)
        self.assertEqual(len(self.json("audit", "log", "--since", "0")), 3)
        self.fails("audit", "log", "--since", "yesterday", msg="cannot read the time 'yesterday'",
                   hint="seconds since the epoch")
        # The parser of model history --at: impossible dates and empty text refused, offsets taken.
        self.fails("audit", "log", "--since", "2026-02-30", msg="cannot read the time '2026-02-30'")
        self.fails("audit", "log", "--since", "", msg="cannot read the time ''")
        self.assertEqual(len(self.json("audit", "log", "--since", "2000-01-01T01:56:42+02:00")), 3)
        self.assertEqual(len(self.json("audit", "log", "--since", "2999-01-01T00:00:00-05:00")), 0)
        # -n needs at least one entry.
        self.fails("audit", "log", "-n", "0", msg="-n/--limit needs a number of entries of at least 1, not 0")
        self.fails("audit", "log", "-n", "-1", msg="at least 1")

    def test_checkout_force_discarding_changes_is_audited(self):
        self.write("data/a.bin", b"my unsaved edit")
        self.fails("checkout", "data/a.bin")
        self.assertEqual(self.json("audit", "log"), [])
        self.ok("checkout", "--force", "data/a.bin")
        (e,) = self.json("audit", "log")
        self.assertEqual(e["action"], "force")
        self.assertEqual(e["details"]["command"], "checkout")
        self.assertEqual(e["details"]["paths"], ["data/a.bin (modified)"])
        self.assertEqual(e["subjects"], ["path:data/a.bin"])

    def test_help_explains(self):
        r = self.ok("audit", "--help")
        for frag in ("log", "verify", "keygen", "hash-chained"):
            self.assertIn(frag, r.stdout)
        self.assertIn("Exit status: 0 intact, 1 damage found", self.ok("audit", "verify", "--help").stdout)


class Tampering(AuditCase):

    def setUp(self):
        super().setUp()
        for i in range(5):
            self.golden("v%d" % i)
        self.lines = read_lines(self.repo)
        self.ids = [entry_id(l) for l in self.lines]

    def problems(self):
        rep = self.verify(code=NEGATIVE)
        self.assertFalse(rep["ok"])
        return rep["problems"]

    def test_edited_line_is_named(self):
        lines = list(self.lines)
        lines[2] = lines[2].replace(b"frozen", b"FROZEN")
        write_lines(self.repo, lines)
        (p,) = self.problems()
        self.assertEqual(p["kind"], "edited")
        self.assertEqual(p["index"], 2)
        self.assertEqual(p["entry"], entry_id(lines[2]))
        self.assertIn("entry 2 (line 3, %s" % entry_id(lines[2])[:12], p["message"])
        self.assertIn("names %s" % self.ids[2][:12], p["message"])
        r = self.cairn("audit", "verify")
        self.assertEqual(r.returncode, NEGATIVE)
        self.assertIn("edited: entry 2 (line 3,", r.stdout)

    def test_deleted_line_is_named(self):
        write_lines(self.repo, self.lines[:2] + self.lines[3:])
        (p,) = self.problems()
        self.assertEqual(p["kind"], "deleted")
        self.assertIn(self.ids[2][:12], p["message"])
        # Governance commands refuse to run on a log whose end is unknown.
        self.fails("tag", "data/a.bin", "v9", "--golden", msg="audit", hint="cairn audit verify")
        self.assertNotIn("v9", self.ok("tag", "--list").stdout)

    def test_swapped_lines_are_reordered(self):
        lines = list(self.lines)
        lines[1], lines[2] = lines[2], lines[1]
        write_lines(self.repo, lines)
        (p,) = self.problems()
        self.assertEqual(p["kind"], "reordered")

    def test_inserted_line_is_named(self):
        forged = body([self.ids[0]], "tag.delete", "nobody saw this")
        write_lines(self.repo, self.lines[:2] + [forged] + self.lines[2:])
        (p,) = self.problems()
        self.assertEqual(p["kind"], "inserted")
        self.assertEqual(p["index"], 2)
        self.assertEqual(p["entry"], hashlib.sha256(forged).hexdigest())

    def test_truncated_log_is_named(self):
        write_lines(self.repo, self.lines[:3])
        (p,) = self.problems()
        self.assertEqual(p["kind"], "truncated")
        self.assertIn("HEAD records 5 entries", p["message"])

    def test_edited_or_deleted_head_is_named(self):
        with open(head_path(self.repo)) as f:
            head = f.read()
        with open(head_path(self.repo), "w") as f:
            f.write(head.replace("entries 5", "entries 6"))
        (p,) = self.problems()
        self.assertEqual(p["kind"], "head")
        os.unlink(head_path(self.repo))
        (p,) = self.problems()
        self.assertEqual(p["kind"], "head")
        self.assertIn("HEAD", p["message"])

    def test_crafted_torn_tail_and_line_past_head_recover(self):
        # A line written whole, HEAD not updated (kill -9 between them) ...
        past = body([self.ids[-1]], "tag.delete", "written before the kill")
        # ... and a torn append after it.
        with open(log_path(self.repo), "ab") as f:
            f.write(past + b"\n" + b'{"prev":["' + self.ids[-1].encode()[:20])
        rep = self.verify()
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(len(rep["notes"]), 2, rep)
        self.golden("v9")
        lines = read_lines(self.repo)
        self.assertEqual(len(lines), 7)
        self.assertEqual(lines[5], past)
        self.assertEqual(json.loads(lines[6].split(b"\t")[0])["prev"], [hashlib.sha256(past).hexdigest()])
        rep = self.verify()
        self.assertEqual((rep["entries"], rep["notes"]), (7, []))

    def test_foreign_line_past_head_is_refused(self):
        forged = body(["f" * 64], "tag.delete")
        with open(log_path(self.repo), "ab") as f:
            f.write(forged + b"\n")
        kinds = [p["kind"] for p in self.problems()]
        self.assertIn("inserted", kinds)
        self.fails("tag", "data/a.bin", "v9", "--golden", hint="cairn audit verify")


class Concurrency(AuditCase):

    def test_two_processes_append_one_chain(self):
        procs = []
        for who in ("a", "b"):
            script = "; ".join("%s tag data/a.bin %s%d --golden" % (CAIRN_BIN, who, i) for i in range(15))
            procs.append(subprocess.Popen(["sh", "-c", script], cwd=self.repo, env=self.env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for p in procs:
            _, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
        rep = self.verify()
        self.assertEqual(rep["entries"], 30)
        self.assertEqual(len(rep["heads"]), 1)
        entries = self.json("audit", "log")
        for before, after in zip(entries, entries[1:]):
            self.assertEqual(after["prev"], [before["id"]])


class Signatures(AuditCase):

    def test_keygen_signs_and_verify_checks(self):
        key_path = os.path.join(self.home, ".config", "cairn", "audit_ed25519.pem")
        r = self.ok("audit", "keygen")
        self.assertTrue(os.path.exists(key_path))
        self.assertEqual(os.stat(key_path).st_mode & 0o777, 0o600)
        self.fails("audit", "keygen", msg="already exists", hint="--force")
        pubs = os.listdir(os.path.join(self.repo, ".cairn", "keys"))
        self.assertEqual(len(pubs), 1)
        self.assertIn(pubs[0][:-4], r.stdout)
        # The public key is committable (not ignored by .cairn/.gitignore).
        self.git("add", ".cairn/keys")
        self.assertIn(".cairn/keys/" + pubs[0], self.git("diff", "--cached", "--name-only").stdout)
        self.golden("v1")
        self.golden("v2")
        (e1, e2) = self.json("audit", "log")
        self.assertTrue(e1["signature"].startswith("ed25519:" + pubs[0][:-4] + ":"))
        rep = self.verify()
        self.assertEqual(rep["signed_entries"], 2)
        # Another entry's signature: bad.
        lines = read_lines(self.repo)
        lines[1] = lines[1].split(b"\t")[0] + b"\t" + lines[0].split(b"\t")[1]
        write_lines(self.repo, lines)
        (p,) = self.verify(code=NEGATIVE)["problems"]
        self.assertEqual((p["kind"], p["index"]), ("signature", 1))
        self.ok("audit", "keygen", "--force")

    def test_a_key_that_cannot_sign_safely_is_an_error_not_silence(self):
        key_path = os.path.join(self.home, ".config", "cairn", "audit_ed25519.pem")
        self.ok("audit", "keygen")
        before = read_lines(self.repo) if os.path.exists(log_path(self.repo)) else []
        # Readable by others: refused, as ssh refuses such a key.
        os.chmod(key_path, 0o644)
        self.fails("tag", "data/a.bin", "v1", "--golden", msg="can be read by other users", hint="chmod 600")
        os.chmod(key_path, 0o600)
        # $CAIRN_AUDIT_KEY naming nothing, or a directory: an error with a hint, not unsigned entries.
        missing = os.path.join(self.tmp, "no-such-key.pem")
        self.fails("tag", "data/a.bin", "v1", "--golden", env={"CAIRN_AUDIT_KEY": missing},
                   msg="does not exist", hint="unset CAIRN_AUDIT_KEY")
        self.fails("tag", "data/a.bin", "v1", "--golden", env={"CAIRN_AUDIT_KEY": self.tmp},
                   msg="is not a file", hint="CAIRN_AUDIT_KEY")
        after = read_lines(self.repo) if os.path.exists(log_path(self.repo)) else []
        self.assertEqual(after, before, "a refused append wrote an entry")
        self.assertNotIn("v1", self.ok("tag", "--list", "data/a.bin").stdout, "the refused golden tag was made")
        # A key made in another repository: its public key is added here, so verify passes.
        shutil.rmtree(os.path.join(self.repo, ".cairn", "keys"))
        self.golden("v1")
        self.assertEqual(len(os.listdir(os.path.join(self.repo, ".cairn", "keys"))), 1)
        rep = self.verify()
        self.assertEqual(rep["signed_entries"], 1)


class Sync(AuditCase):

    def test_push_pull_merges_logs_and_verify_remote(self):
        self.golden("v1")
        rep = self.push()
        self.assertEqual(rep["audit"], 1)
        segments = os.listdir(os.path.join(self.remote, "audit"))
        (first,) = self.json("audit", "log")
        self.assertEqual(segments, [first["id"] + ".log"])
        self.assertIn("0 audit entries published", self.ok("push").stdout)  # nothing new

        clone = self.clone()
        self.assertEqual(self.pull(cwd=clone)["audit"], 1)
        self.assertEqual(self.json("audit", "log", cwd=clone), [first])
        # Both sides append; each pushes/pulls.
        self.ok("tag", "data/a.bin", "theirs", "--golden", cwd=clone)
        self.golden("ours")
        self.assertEqual(self.push(cwd=clone)["audit"], 1)
        self.assertEqual(self.pull()["audit"], 1)
        rep = self.verify()
        self.assertEqual((rep["entries"], len(rep["heads"])), (3, 2))
        self.golden("merged")
        last = self.json("audit", "log", "-n", "1")[0]
        self.assertEqual(len(last["prev"]), 2)
        self.assertEqual(self.push()["audit"], 2)
        remote = self.verify("--remote", "origin")
        self.assertTrue(remote["ok"], remote)
        self.assertEqual((remote["entries"], remote["segments"], remote["missing_locally"]), (4, 3, 0))
        self.assertEqual(self.verify("--remote", "origin", cwd=clone)["missing_locally"], 2)
        self.assertIn("remote entries are not in the local log", self.cairn("audit", "verify", "--remote", "origin",
                                                                               cwd=clone).stdout)
        self.pull(cwd=clone)
        self.assertEqual(self.verify(cwd=clone)["entries"], 4)

        # A remote segment edited by hand: verify --remote names it; fetch warns.
        seg = os.path.join(self.remote, "audit", first["id"] + ".log")
        with open(seg, "rb") as f:
            data = f.read()
        with open(seg, "wb") as f:
            f.write(data.replace(b"frozen", b"FROZEN"))
        bad = self.verify("--remote", "origin", code=NEGATIVE)
        self.assertTrue(any(first["id"] + ".log" in p["message"] for p in bad["problems"]), bad)
        self.assertTrue(any(p["kind"] == "edited" for p in bad["problems"]), bad)
        fresh = self.clone("fresh")
        r = self.cairn("pull", cwd=fresh)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("audit entries were not merged", r.stderr)

    def test_unknown_remote_is_an_error(self):
        self.fails("audit", "verify", "--remote", "nope", msg="nope")


class S3Sync(S3TestCase):

    def test_push_pull_through_s3(self):
        self.write("data/a.bin", random_bytes(3000, 2))
        self.add("data/a.bin")
        self.commit(message="v1")
        self.ok("tag", "data/a.bin", "v1", "--golden")
        self.assertEqual(self.push()["audit"], 1)
        keys = [k for k in self.s3_objects() if k.startswith("audit/")]
        self.assertEqual(len(keys), 1)
        (entry,) = self.json("audit", "log")
        self.assertEqual(keys[0], "audit/%s.log" % entry["id"])
        self.assertEqual(self.s3_get(keys[0]).split(b"\n")[0].split(b"\t")[0].decode(),
                         json.dumps({k: entry[k] for k in ("prev", "time_ms", "user", "host", "action", "subjects",
                                                           "reason", "details")},
                                    separators=(",", ":"), ensure_ascii=False))
        clone = self.clone()
        self.assertEqual(self.pull(cwd=clone)["audit"], 1)
        r = self.cairn("audit", "verify", "--remote", "s3r", "--json", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual(json.loads(r.stdout)["missing_locally"], 0)


if __name__ == "__main__":
    unittest.main()
