"""Corruption campaign: bytes flipped in loose blobs, trees, versions, local packs and pack
indexes, remote packs and indexes (a directory remote), pointer files and run records.

Every trial works on a fresh copy of one pristine repository + remote. Each damage must be
found by `cairn fsck` (exit 1), or `cairn fsck --remote origin` for the remote's files, and
none may reach the workspace: `checkout`, `pull` (and `artifacts get` for runs) either fail
naming what is damaged, or (when a good copy exists on the remote) repair it; writing wrong
bytes is never acceptable.
"""

import json
import os
import re
import shutil
import subprocess
import unittest

from faultlib import (CAIRN_BIN, ERROR, NEGATIVE, OK, Campaign, FaultTestCase, count, deterministic_bytes,
                      sha256_file)

import cairn_testlib

HEX12 = re.compile(r"[0-9a-f]{12,64}")
DATASETS = ("d", "single.bin", "small.txt")


class CorruptionCampaign(FaultTestCase):

    # ---- the pristine repository --------------------------------------------------------------

    def build_pristine(self):
        """repo (three datasets, two versions of d, a run with metrics and artifacts, all
        committed and pushed with --runs) and its directory remote ../remote."""
        self.write_tree("d", seed=1, files=30, big=200 * 1024, dirs=3)
        self.write("d/other.bin", deterministic_bytes(300 * 1024, seed=9))
        self.ok("add", "d")
        self.commit(message="d v1")
        self.write_tree("d", seed=2, files=30, big=200 * 1024, dirs=3)
        self.write("d/other.bin", deterministic_bytes(300 * 1024, seed=9))
        self.write("single.bin", deterministic_bytes(150 * 1024, seed=3))
        self.write("small.txt", "a small file, packed\n" * 10)
        self.ok("add", "d", "single.bin", "small.txt")
        self.ok("tag", "d", "v2")
        self.write("art.txt", "a small artifact\n")
        self.write("art.bin", deterministic_bytes(140 * 1024, seed=4))
        with open(self.path(".gitignore"), "a") as f:
            f.write("/art.txt\n/art.bin\n/got\n")
        r = self.ok("run", "-n", "r", "--", "sh", "-c",
                    "'%s' runs log -m loss=0.5@1 -m loss=0.25@2 -a art.txt -a art.bin" % CAIRN_BIN)
        self.run_id = json.loads(self.ok("runs", "--json").stdout)[0]["id"]
        self.ok("remote", "add", "origin", "../remote", "-d")
        self.commit(message="v2")
        self.ok("push", "--runs")
        self.ok("fsck", "--remote", "origin")
        self.fsck_clean()
        self.expected = {ds: self.manifest(ds) for ds in DATASETS}
        self.artifacts = {"art.txt": sha256_file(self.path("art.txt")), "art.bin": sha256_file(self.path("art.bin"))}
        self.pristine = os.path.join(self.tmp, "pristine")
        os.mkdir(self.pristine)
        shutil.copytree(self.repo, os.path.join(self.pristine, "repo"), symlinks=True)
        shutil.copytree(os.path.join(self.tmp, "remote"), os.path.join(self.pristine, "remote"), symlinks=True)
        self.pristine_repo = self.repo
        del r

    def fresh_trial(self):
        """A copy of the pristine repository and remote; self.repo points at it."""
        t = os.path.join(self.tmp, "trial")
        if os.path.exists(t):
            cairn_testlib._force_rmtree(t)
        shutil.copytree(self.pristine, t, symlinks=True)
        self.repo = os.path.join(t, "repo")
        self.remote = os.path.join(t, "remote")
        return t

    # ---- what can be damaged ------------------------------------------------------------------

    def loose_by_kind(self):
        """{kind: [path]} of the loose objects: blob, tree, version, run, metrics."""
        out = {}
        root = os.path.join(self.cairn_dir, "cache", "sha256")
        for d in sorted(os.listdir(root)):
            for n in sorted(os.listdir(os.path.join(root, d))):
                p = os.path.join(root, d, n)
                with open(p, "rb") as f:
                    head = f.read(200)
                if head.startswith(b"cairn-tree 1"):
                    kind = "tree"
                elif head.startswith(b"cairn-version 1"):
                    kind = "version"
                elif head.startswith(b"cairn-metrics 1"):
                    kind = "metric history"
                elif b'"cairn-run 1"' in head or head.startswith(b"{"):
                    kind = "run record"
                else:
                    kind = "loose blob"
                out.setdefault(kind, []).append(p)
        return out

    def targets(self, kind):
        """Files a corruption of `kind` may hit, with the byte range allowed: [(path, lo, hi)]."""
        packs = os.path.join(self.cairn_dir, "cache", "packs")
        rpacks = os.path.join(self.remote, "packs")

        def whole(paths):
            return [(p, 0, os.path.getsize(p)) for p in paths]

        def listed(d, suffix):
            return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(suffix))

        if kind in ("loose blob", "tree", "version", "run record", "metric history"):
            return whole(self.loose_by_kind().get(kind, []))
        if kind == "local pack":
            return whole(listed(packs, ".pack"))
        if kind == "local pack index":
            return whole(listed(packs, ".idx"))
        if kind == "remote pack":
            return whole(listed(rpacks, ".pack"))
        if kind == "remote index":
            return whole(listed(rpacks, ".idx"))
        if kind == "run ref":
            return whole(listed(os.path.join(self.cairn_dir, "refs", "runs"), ""))
        if kind == "pointer":
            out = []
            for ds in DATASETS:
                p = self.path(ds + ".cairn")
                with open(p, "rb") as f:
                    data = f.read()
                start = data.index(b"\n") + 1 if data.startswith(b"#") else 0  # a comment is not data
                out.append((p, start, len(data)))
            return out
        raise ValueError(kind)

    KINDS = ("loose blob", "tree", "version", "local pack", "local pack index", "remote pack", "remote index",
             "pointer", "run record", "metric history", "run ref")
    REMOTE_KINDS = ("remote pack", "remote index")
    TEXT_KINDS = ("tree", "version", "pointer", "run ref", "run record")

    def corrupt(self, kind, where="anywhere"):
        """Damages one byte of a random target of `kind`: anywhere, at its "head" (first 48
        bytes: magic, header, first record or line) or its "tail" (last 16: a checksum, the
        last fields); returns a description."""
        path, lo, hi = self.rng.choice(self.targets(kind))
        if where == "head":
            hi = min(hi, lo + 48)
        elif where == "tail":
            lo = max(lo, hi - 16)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        digits = [i for i in range(lo, hi) if chr(data[i]).isdigit()]
        if where == "tail" and kind in self.TEXT_KINDS and digits:
            # A number in the last line (a pointer's `files`) changed into another number.
            offset = self.rng.choice(digits)
            old = data[offset]
            new = ord(self.rng.choice([c for c in "0123456789" if c != chr(old)]))
            data[offset] = new
            return self.write_damage(kind, path, data, offset, old, new)
        offset = self.rng.randrange(lo, hi)
        old = data[offset]
        if kind in self.TEXT_KINDS and chr(old) in "0123456789abcdef" and self.rng.random() < 0.6:
            new = ord(self.rng.choice([c for c in "0123456789abcdef" if c != chr(old)]))  # still valid hex
        else:
            new = old ^ self.rng.randrange(1, 256)
        data[offset] = new
        return self.write_damage(kind, path, data, offset, old, new)

    def write_damage(self, kind, path, data, offset, old, new):
        mode = os.stat(path).st_mode & 0o777
        os.chmod(path, 0o644)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return {"path": path, "offset": offset, "old": old, "new": new,
                "desc": "%s: %s byte %d of %d: 0x%02x -> 0x%02x" % (kind, os.path.relpath(path, os.path.dirname(
                    self.repo)), offset, len(data), old, new)}

    def names_of(self, damage):
        """Strings by which an error may name the damaged thing: oid/pack hex prefixes, the file."""
        base = os.path.basename(damage["path"])
        names = {base, base[:12]}
        for m in HEX12.findall(base):
            names.add(m[:12])
        parent = os.path.basename(os.path.dirname(damage["path"]))
        if len(parent) == 2 and len(base) == 62:  # a loose object: the oid is parent + base
            names.add((parent + base)[:12])
        if base.endswith(".pack") or base.endswith(".idx"):
            idx = damage["path"][:damage["path"].rindex(".")] + ".idx"
            try:
                if base.startswith("pack-"):
                    names.update(oid[:12] for oid, _, _ in cairn_testlib.read_pack_index(idx))
            except (AssertionError, OSError, Exception):
                pass
        if damage["path"].endswith(".cairn"):
            names.add(os.path.relpath(damage["path"], self.repo))
        for ds in DATASETS:  # or the workspace files it cannot write
            names.update(os.path.join(ds, rel) if rel else ds for rel in self.expected[ds])
        return names

    # ---- the checks -----------------------------------------------------------------------------

    def assert_no_wrong_bytes(self, root, what):
        """Every dataset file under root is absent or has exactly the recorded bytes."""
        for ds in DATASETS:
            for rel, sha in self.expected[ds].items():
                p = os.path.join(root, ds, rel) if rel else os.path.join(root, ds)
                if os.path.isfile(p):
                    got = sha256_file(p)
                    self.assertEqual(got, sha, "%s wrote wrong bytes to %s" % (what, os.path.relpath(p, root)))
            d = os.path.join(root, ds)
            if os.path.isdir(d):
                for dp, _, ns in os.walk(d):
                    for n in ns:
                        rel = os.path.relpath(os.path.join(dp, n), d)
                        self.assertIn(rel, self.expected[ds], "%s wrote a file no version has: %s/%s" % (what, ds, rel))

    def assert_fails_naming_or_repairs(self, r, damage, root, what):
        """r failed (exit 2, naming the damage) or succeeded leaving only correct bytes."""
        self.assert_no_wrong_bytes(root, what)
        if r.returncode == OK:
            return
        self.assertEqual(r.returncode, ERROR, "%s: unexpected exit:\n%s" % (what, self.describe(r)))
        self.assertIn("cairn: error:", r.stderr, what)
        names = self.names_of(damage)
        self.assertTrue(any(n in r.stderr for n in names) or HEX12.search(r.stderr),
                        "%s fails without naming the damaged object, an oid or a file:\n%s"
                        % (what, self.describe(r)))

    def remove_workspace_data(self, root):
        for ds in DATASETS:
            p = os.path.join(root, ds)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)

    def cairn(self, *args, **kw):
        r = super().cairn(*args, **kw)
        if r.not_utf8 and getattr(self, "damage", None):
            self.not_utf8.append("cairn %s printed bytes that are not UTF-8 on %s after %s"
                                 % (" ".join(map(str, args)), "/".join(r.not_utf8), self.damage["desc"]))
        return r

    def trial(self, kind, where):
        self.fresh_trial()
        self.damage = damage = self.corrupt(kind, where)
        what = damage["desc"]
        if kind in self.REMOTE_KINDS:
            r = self.cairn("fsck", "--remote", "origin")
            if r.returncode != NEGATIVE:
                self.fail("undetected: cairn fsck --remote origin exited %d after %s\n%s"
                          % (r.returncode, what, self.describe(r)))
            # A clone that needs the damaged data: pull fails naming it, or gets only good bytes.
            clone = os.path.join(os.path.dirname(self.repo), "clone")
            subprocess.run(["git", "clone", "-q", self.repo, clone], check=True, env=self.env, capture_output=True)
            r = self.cairn("pull", cwd=clone)
            self.assert_fails_naming_or_repairs(r, damage, clone, "pull in a clone after " + what)
            return
        r = self.cairn("fsck")
        if r.returncode != NEGATIVE:
            self.fail("undetected: cairn fsck exited %d after %s\n%s" % (r.returncode, what, self.describe(r)))
        if kind in ("run record", "metric history", "run ref"):
            for name, sha in self.artifacts.items():
                out = os.path.join(os.path.dirname(self.repo), "got-" + name)
                r = self.cairn("artifacts", "get", self.run_id, name, "-o", out)
                if os.path.exists(out):
                    self.assertEqual(sha256_file(out), sha, "artifacts get wrote wrong bytes after " + what)
                self.assertIn(r.returncode, (OK, ERROR), "artifacts get after %s:\n%s" % (what, self.describe(r)))
            return
        # The workspace copies gone: checkout must read the damaged store.
        self.remove_workspace_data(self.repo)
        r = self.cairn("checkout")
        self.assert_fails_naming_or_repairs(r, damage, self.repo, "checkout after " + what)
        # pull may repair from the remote's good copy, or fail; never write wrong bytes.
        self.remove_workspace_data(self.repo)
        r = self.cairn("pull")
        self.assert_fails_naming_or_repairs(r, damage, self.repo, "pull after " + what)

    def test_corruptions(self):
        self.build_pristine()
        camp = Campaign(self, "corruptions", "corruption campaign", max_failures=10 ** 6)
        self.not_utf8 = []
        per_kind = count(4)
        undetected = {}
        only = [k.strip() for k in os.environ.get("CAIRN_FAULT_KINDS", "").split(",") if k.strip()]
        for kind in self.KINDS:
            if only and kind not in only:
                continue
            for i in range(per_kind):
                where = {0: "head", 1: "tail"}.get(i, "anywhere")  # then random offsets
                ok = camp.run("%s #%d (%s)" % (kind, i + 1, where), lambda: self.trial(kind, where))
                if not ok:
                    undetected[kind] = undetected.get(kind, 0) + 1
        print("\ncorruptions by kind (%d each): %s" % (per_kind, ", ".join(
            "%s %d failed" % (k, undetected.get(k, 0)) for k in self.KINDS if not only or k in only)))
        self.damage = None
        for note in self.not_utf8:  # reported, not counted: the damage was handled
            print("  note: " + note)
        self.repo = self.pristine_repo
        camp.finish()


if __name__ == "__main__":
    unittest.main()
