"""The trust boundary: data from a remote, a teammate's cache or git never
writes outside its target, and nothing wrong reaches the workspace.

Hostile objects are built by hand (craft.py) with correct oids, so every
checksum passes and only their names or content are wrong, as they would be
from a malicious teammate or a compromised bucket.
"""

import json
import os
import stat
import subprocess
import time
import unittest

import craft
from cairn_testlib import CairnTestCase, ERROR, NEGATIVE, sha256_bytes

ESCAPES = [
    "../../../outside.txt",      # out of data/raw, then out of the repository
    "/tmp/cairn-abs-escape.txt",  # absolute
    "a/../../../../outside.txt",  # '..' in the middle
    "a//b.txt",                   # empty component
    "./a.txt",                    # '.' component
]


class TrustTestBase(CairnTestCase):
    def setUp(self):
        super().setUp()
        self.outside = os.path.join(self.tmp, "outside.txt")
        with open(self.outside, "wb") as f:
            f.write(b"the victim's own file\n")

    def assert_outside_untouched(self):
        with open(self.outside, "rb") as f:
            self.assertEqual(f.read(), b"the victim's own file\n")
        self.assertFalse(os.path.exists("/tmp/cairn-abs-escape.txt"))

    def hostile_tree_version(self, entry, dataset="data/raw"):
        """(objects, version hex, tree hex) for a one-file tree named `entry`."""
        blob = b"#!/bin/sh\necho pwned\n"
        tree = craft.tree([(entry, blob)])
        t = craft.oid_of(tree)
        ver = craft.version(dataset, "tree", t, len(blob), 1)
        return [blob, tree, ver], craft.oid_of(ver), t

    def write_pointer(self, rel, version_hex, obj_hex, kind="tree", size=21, files=1, dataset="data/raw"):
        self.write(rel + ".cairn", craft.pointer(dataset, version_hex, kind, obj_hex, size, files))


class RemoteEscapeTest(TrustTestBase):
    """A remote that lies: pull and get refuse hostile names."""

    def test_pull_of_a_hostile_tree_writes_nothing_outside(self):
        for entry in ESCAPES:
            with self.subTest(entry=entry):
                remote = os.path.join(self.tmp, "remote-%d" % ESCAPES.index(entry))
                objects, v, t = self.hostile_tree_version(entry)
                craft.write_remote(remote, objects, tags=[("data/raw", "v1", v)])
                self.ok("remote", "add", "evil%d" % ESCAPES.index(entry), remote, "-d")
                self.write_pointer("data/raw", v, t)
                r = self.fails("pull", msg="corrupt")
                self.assertIn(t[:12], r.stderr)  # names the object
                self.assert_outside_untouched()
                self.assertFalse(os.path.exists(self.path("data/raw")), "nothing is written from a bad tree")

    def test_get_of_a_hostile_tree_writes_nothing_outside_its_directory(self):
        for entry in ESCAPES:
            with self.subTest(entry=entry):
                remote = os.path.join(self.tmp, "remote-get-%d" % ESCAPES.index(entry))
                objects, v, t = self.hostile_tree_version(entry)
                craft.write_remote(remote, objects, tags=[("data/raw", "v1", v)])
                out = os.path.join(self.tmp, "got-%d" % ESCAPES.index(entry))
                self.fails("get", remote, "data/raw@v1", "-o", out, msg="corrupt")
                self.assert_outside_untouched()
                self.assertFalse(os.path.exists(out))

    def test_get_of_a_single_file_version_with_a_hostile_filename(self):
        blob = b"payload\n"
        b = craft.oid_of(blob)
        for name in ["../../outside.txt", "sub/x.txt", "..", "."]:
            with self.subTest(filename=name):
                ver = craft.version("model.bin", "blob", b, len(blob), 1, filename=name)
                remote = os.path.join(self.tmp, "remote-file-%d" % len(name))
                craft.write_remote(remote, [blob, ver], tags=[("model.bin", "v1", craft.oid_of(ver))])
                out = os.path.join(self.tmp, "deep", "dir", "got")
                self.fails("get", remote, "model.bin@v1", "-o", out, msg="file name")
                self.assert_outside_untouched()
                self.assertFalse(os.path.exists(os.path.join(self.tmp, "deep")))

    def test_a_tree_naming_a_path_both_as_file_and_directory_is_corrupt(self):
        blob = b"x\n"
        tree = craft.tree([("a", blob), ("a/b", blob)])
        t = craft.oid_of(tree)
        ver = craft.version("data/raw", "tree", t, 4, 2)
        remote = os.path.join(self.tmp, "remote")
        craft.write_remote(remote, [blob, tree, ver], tags=[("data/raw", "v1", craft.oid_of(ver))])
        self.fails("get", remote, "data/raw@v1", "-o", os.path.join(self.tmp, "o"), msg="both as a file")

    def test_get_force_into_a_directory_never_writes_through_a_symlink(self):
        # A good version, but the user's target directory holds a symlink
        # where the version has a directory.
        self.write("data/raw/sub/f.txt", "hello\n")
        self.ok("add", "data/raw")
        self.ok("tag", "data/raw", "v1")
        remote = os.path.join(self.tmp, "good-remote")
        self.ok("remote", "add", "origin", remote, "-d")
        self.ok("push")
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.makedirs(elsewhere)
        os.symlink(elsewhere, os.path.join(out, "sub"))
        self.fails("get", remote, "data/raw@v1", "-o", out, "--force", msg="symlink")
        self.assertEqual(os.listdir(elsewhere), [])

    def test_fetch_runs_refuses_a_record_with_a_hostile_artifact_path(self):
        remote = os.path.join(self.tmp, "remote")
        rid, record, objects = self.hostile_run_record("d/../../../outside.txt")
        craft.write_remote(remote, objects, runs=[(rid, craft.oid_of(record))])
        self.ok("remote", "add", "evil", remote, "-d")
        # The hostile record is refused, named in a warning; the rest of the fetch goes on.
        r = self.cairn("fetch", "--runs")
        self.assertIn("warning: run %s not imported" % rid, r.stderr, self.describe(r))
        self.assertIn("artifact path", r.stderr)
        self.assert_outside_untouched()
        listed = self.json("runs")
        self.assertEqual([x for x in listed if x.get("id") == rid], [])

    def test_fsck_remote_reports_hostile_trees_and_records(self):
        remote = os.path.join(self.tmp, "remote")
        objects, v, t = self.hostile_tree_version("../../../outside.txt")
        rid, record, run_objects = self.hostile_run_record("d/../../../outside.txt")
        craft.write_remote(remote, objects + run_objects, tags=[("data/raw", "v1", v)],
                           runs=[(rid, craft.oid_of(record))])
        self.ok("remote", "add", "evil", remote)
        r = self.cairn("fsck", "--remote", "evil")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("data/raw@v1", r.stdout)
        self.assertIn("not a safe relative path", r.stdout)
        self.assertIn("artifact path", r.stdout)

    def hostile_run_record(self, artifact_path):
        """A real run's record with its artifact path replaced: (run id, record, objects)."""
        self.write("model.txt", "weights\n")
        self.ok("run", "-e", "exp", "--", "true")
        runs = self.json("runs")
        rid = runs[0]["id"]
        refs = os.path.join(self.cairn_dir, "refs", "runs", rid)
        with open(refs) as f:
            rec_hex = f.read().strip().split(":")[1]
        with open(self.loose_path("sha256:" + rec_hex), "rb") as f:
            rec = json.loads(f.read())
        blob = b"weights\n"
        rec["artifacts"] = [{"path": artifact_path, "oid": "sha256:" + craft.oid_of(blob), "size": len(blob)}]
        rec["id"] = "f" * 32
        data = json.dumps(rec, sort_keys=True).encode()
        objects = [blob, data]
        return rec["id"], data, objects


class LocalEscapeTest(TrustTestBase):
    """A teammate's cache (or anything that wrote .cairn/cache) holds a hostile tree."""

    def test_checkout_fsck_and_push_refuse_a_hostile_tree_in_the_cache(self):
        objects, v, t = self.hostile_tree_version("../../../outside.txt")
        for o in objects:
            craft.put_loose(self.cairn_dir, o)
        self.write_pointer("data/raw", v, t)
        r = self.fails("checkout", msg="not a safe relative path")
        self.assertIn(t, r.stderr)
        self.assert_outside_untouched()
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("not a safe relative path", r.stdout + r.stderr)
        self.ok("remote", "add", "origin", os.path.join(self.tmp, "remote"), "-d")
        self.fails("push", msg="not a safe relative path")

    def test_checkout_never_writes_through_a_symlinked_directory(self):
        self.write("data/raw/sub/f.txt", "v1\n")
        self.ok("add", "data/raw")
        self.commit()
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.makedirs(elsewhere)
        # The user (or git) replaced the directory with a symlink.
        subprocess.run(["rm", "-rf", self.path("data/raw/sub")], check=True)
        os.symlink(elsewhere, self.path("data/raw/sub"))
        r = self.cairn("checkout", "--force")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertEqual(os.listdir(elsewhere), [])

    def test_a_record_with_a_hostile_artifact_path_fails_fsck_and_is_never_written(self):
        self.write("model.txt", "weights\n")
        self.ok("run", "-e", "exp", "--", "true")
        rid = self.json("runs")[0]["id"]
        ref = os.path.join(self.cairn_dir, "refs", "runs", rid)
        with open(ref) as f:
            rec_hex = f.read().strip().split(":")[1]
        with open(self.loose_path("sha256:" + rec_hex), "rb") as f:
            rec = json.loads(f.read())
        blob = b"weights\n"
        blob_hex = craft.put_loose(self.cairn_dir, blob)
        rec["artifacts"] = [{"path": "d/../../../outside.txt", "oid": "sha256:" + blob_hex, "size": len(blob)}]
        data = json.dumps(rec, sort_keys=True).encode()
        new_hex = craft.put_loose(self.cairn_dir, data)
        with open(ref, "w") as f:
            f.write("sha256:%s\n" % new_hex)
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("artifact path", r.stdout + r.stderr)
        r = self.cairn("reindex")
        self.assertIn("artifact path", r.stdout + r.stderr)
        out = os.path.join(self.tmp, "o1", "o2", "o3")
        r = self.cairn("artifacts", "get", rid, "d", "-o", out)
        self.assertNotEqual(r.returncode, 0, self.describe(r))
        self.assert_outside_untouched()

    def test_a_lock_naming_paths_outside_the_repository_is_corrupt(self):
        self.write("cairn.yaml", "stages:\n  s:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n")
        self.ok("repro")
        with open(self.path("cairn.lock")) as f:
            lock = f.read()
        victim = os.path.join(self.tmp, "victim-dir")
        os.makedirs(victim)
        with open(os.path.join(victim, "keep"), "w") as f:
            f.write("mine")
        rel = os.path.relpath(victim, self.repo)
        self.write("cairn.lock", lock.replace("out.txt:", rel + ":"))
        self.fails("repro", "-f", msg="cairn.lock")
        self.fails("status", msg="cairn.lock")
        self.assertTrue(os.path.exists(os.path.join(victim, "keep")))


class HostileRepositoryTest(TrustTestBase):
    """What a hostile commit can put in git: pointers and cairn.lock."""

    def hostile_hook_remote(self, name):
        hook = b"#!/bin/sh\necho pwned\n"
        tree = craft.tree([("hooks/post-checkout", hook, True)])
        t = craft.oid_of(tree)
        ver = craft.version(name, "tree", t, len(hook), 1)
        v = craft.oid_of(ver)
        remote = os.path.join(self.tmp, "remote-" + name.strip("."))
        craft.write_remote(remote, [hook, tree, ver], tags=[(name, "v1", v)])
        self.write(name + ".cairn", craft.pointer(name, v, "tree", t, len(hook), 1))
        self.ok("remote", "add", "origin", remote, "-d")

    def test_a_pointer_that_tracks_git_or_cairn_is_refused_even_with_force(self):
        for name in (".git", ".cairn"):
            with self.subTest(name=name):
                before = sorted(os.listdir(self.path(name)))
                self.hostile_hook_remote(name)
                self.fails("pull", "-f", msg="which cairn never writes")
                self.fails("checkout", "--force", msg="which cairn never writes")
                self.assertEqual(sorted(os.listdir(self.path(name))), before)
                self.assertFalse(os.path.exists(self.path(name + "/hooks/post-checkout")))
                os.remove(self.path(name + ".cairn"))
                self.ok("remote", "remove", "origin")

    def lock_with_extra_entries(self, section, extra):
        self.write("run.sh", 'mkdir -p o; echo d > o/f; echo \'{"acc": 1}\' > m.json\n')
        self.write("cairn.yaml", "stages:\n  s:\n    cmd: sh run.sh\n    deps: [run.sh]\n    outs: [o]\n"
                   "    metrics: [m.json]\n")
        self.ok("repro")
        with open(self.path("cairn.lock")) as f:
            lock = f.read()
        anchor = "      m.json: " if section == "metrics" else "      o: "
        line = [l for l in lock.splitlines() if l.startswith(anchor)][0]
        oid = line.split(": ", 1)[1]
        lock = lock.replace(line + "\n", "".join("      %s: %s\n" % (p, oid) for p in extra) + line + "\n")
        self.write("cairn.lock", lock)

    def test_lock_metrics_entries_never_write_into_git_or_through_symlinks(self):
        out = os.path.join(self.tmp, "linked")
        os.makedirs(out)
        os.symlink(out, self.path("outlink"))
        self.lock_with_extra_entries("metrics", [".git/config", "outlink/evil.json"])
        with open(self.path(".git/config"), "rb") as f:
            git_config = f.read()
        os.remove(self.path("m.json"))  # drift: repro would restore from the lock
        self.fails("repro", msg="does not declare")
        with open(self.path(".git/config"), "rb") as f:
            self.assertEqual(f.read(), git_config)
        self.assertEqual(os.listdir(out), [])

    def test_lock_outs_entries_never_remove_what_the_stage_does_not_declare(self):
        out = os.path.join(self.tmp, "linked")
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("mine")
        os.symlink(out, self.path("outlink"))
        self.lock_with_extra_entries("outs", [".git", "outlink/keep.txt"])
        self.fails("repro", "-f", msg="does not declare")
        self.fails("repro", msg="does not declare")
        self.assertTrue(os.path.isdir(self.path(".git")))
        self.assertTrue(os.path.exists(os.path.join(out, "keep.txt")))
        self.assertFalse(os.path.exists(os.path.join(out, "keep.txt.cairn")))

    def test_a_name_too_long_for_the_file_system_is_an_error_not_a_crash(self):
        blob = b"x\n"
        tree = craft.tree([("a" * 300, blob), ("ok.txt", blob)])
        t = craft.oid_of(tree)
        ver = craft.version("data/raw", "tree", t, 4, 2)
        for o in (blob, tree, ver):
            craft.put_loose(self.cairn_dir, o)
        self.write_pointer("data/raw", craft.oid_of(ver), t, size=4, files=2)
        self.fails("checkout", msg="name too long")

    def test_a_remote_tag_with_an_odd_name_is_skipped_with_a_warning(self):
        blob = b"hello\n"
        tree = craft.tree([("a.txt", blob)])
        t = craft.oid_of(tree)
        ver = craft.version("data/raw", "tree", t, 6, 1)
        v = craft.oid_of(ver)
        remote = os.path.join(self.tmp, "remote-tags")
        craft.write_remote(remote, [blob, tree, ver], tags=[("data/raw", n, v) for n in ("v1", ".tmp", "latest")])
        self.write_pointer("data/raw", v, t, size=6, files=1)
        self.ok("remote", "add", "o", remote, "-d")
        r = self.ok("pull")
        self.assertIn("skipped", r.stdout + r.stderr)
        self.assertEqual(self.read("data/raw/a.txt"), blob)
        tags = self.cairn("tag", "--list", "data/raw").stdout
        self.assertIn("v1", tags)
        self.assertNotIn(".tmp", tags)


class VerifiedCheckoutTest(CairnTestCase):
    """Checkout hashes what it writes: corrupt cache bytes never reach the workspace."""

    def corrupt_and_checkout(self, rel, data):
        self.write(rel, data)
        self.ok("add", rel)
        blob = "sha256:" + sha256_bytes(data)
        os.remove(self.path(rel))
        if self.is_packed(blob):
            for (h, off, length), idx in self.pack_entries_with_files():
                if h == blob.split(":")[1]:
                    self.flip_byte(idx, off + length // 2)
        else:
            p = self.loose_path(blob)
            self.flip_byte(p, len(data) // 2)
        r = self.fails("checkout", msg=blob)
        self.assertIn("corrupt", r.stderr)
        self.assertIn("cairn fetch", r.stderr)
        self.assertFalse(os.path.exists(self.path(rel)), "no bad bytes in the workspace")
        r = self.cairn("status", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        return blob

    def pack_entries_with_files(self):
        packs = os.path.join(self.cairn_dir, "cache", "packs")
        out = []
        from cairn_testlib import read_pack_index
        for name in sorted(os.listdir(packs)):
            if name.endswith(".idx"):
                for e in read_pack_index(os.path.join(packs, name)):
                    out.append((e, os.path.join(packs, name[:-4] + ".pack")))
        return out

    def test_a_flipped_byte_in_a_loose_blob_stops_checkout(self):
        self.corrupt_and_checkout("big.bin", bytes(range(256)) * 1024)  # 256 KiB: loose

    def test_a_flipped_byte_in_a_packed_blob_stops_checkout(self):
        self.corrupt_and_checkout("small.txt", b"a small file that is packed\n" * 10)

    def test_hardlink_checkout_verifies_the_cached_file_too(self):
        data = bytes(range(256)) * 1024
        self.write("big.bin", data)
        self.ok("add", "big.bin")
        os.remove(self.path("big.bin"))
        p = self.loose_path("sha256:" + sha256_bytes(data))
        self.flip_byte(p, 1000)
        self.fails("checkout", "--link", "hardlink", msg="corrupt")
        self.assertFalse(os.path.exists(self.path("big.bin")))

    def test_checkout_repairs_from_the_default_remote(self):
        data = bytes(range(256)) * 1024
        small = b"packed and small\n" * 20
        self.write("d/big.bin", data)
        self.write("d/small.txt", small)
        self.ok("add", "d")
        self.ok("remote", "add", "origin", os.path.join(self.tmp, "remote"), "-d")
        self.ok("push")
        subprocess.run(["rm", "-rf", self.path("d")], check=True)
        self.flip_byte(self.loose_path("sha256:" + sha256_bytes(data)), 77)
        for (h, off, length), pack in self.pack_entries_with_files():
            if h == sha256_bytes(small):
                self.flip_byte(pack, off + 3)
        r = self.ok("checkout")
        self.assertIn("repaired", r.stderr)
        self.assertEqual(self.read("d/big.bin"), data)
        self.assertEqual(self.read("d/small.txt"), small)
        self.ok("status", "--exit-code")
        self.fsck_clean()

    def test_fsck_repair_drops_a_damaged_loose_object_so_adding_again_heals_it(self):
        data = bytes(range(256)) * 1024
        self.write("big.bin", data)
        self.ok("add", "big.bin")
        blob = "sha256:" + sha256_bytes(data)
        self.flip_byte(self.loose_path(blob), 10)
        self.fails("fsck", code=NEGATIVE)
        self.cairn("fsck", "--repair")
        self.assertFalse(self.has_loose(blob))
        self.write("big.bin.new", data)
        os.replace(self.path("big.bin.new"), self.path("big.bin"))  # the same bytes, a new file
        self.ok("add", "big.bin")
        self.fsck_clean()

    def test_a_damaged_pack_record_header_is_found_and_repaired(self):
        small = b"packed and small\n" * 20
        self.write("s.txt", small)
        self.ok("add", "s.txt")
        packs = os.path.join(self.cairn_dir, "cache", "packs")
        for offset in (1, 20):  # the magic, then the record's oid
            with self.subTest(offset=offset):
                pack = [os.path.join(packs, n) for n in os.listdir(packs) if n.endswith(".pack")][0]
                self.flip_byte(pack, offset)
                r = self.cairn("fsck")
                self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
                self.assertIn("record headers disagree", r.stdout + r.stderr)
                self.ok("fsck", "--repair")
                self.fsck_clean()
                os.remove(self.path("s.txt"))
                self.ok("checkout")
                self.assertEqual(self.read("s.txt"), small)

    def test_status_is_not_fooled_after_a_failed_verified_checkout(self):
        blob = self.corrupt_and_checkout("f.bin", bytes(range(256)) * 1024)
        r = self.cairn("status")
        self.assertNotIn(": clean", r.stdout)


class FsckClosureTest(CairnTestCase):
    def test_a_tag_whose_tree_is_gone_is_reported(self):
        self.write("data/raw/a.txt", "a\n")
        self.write("data/raw/b.txt", "b\n")
        self.ok("add", "data/raw")
        self.ok("tag", "data/raw", "v1")
        ptr = self.pointer("data/raw")
        self.write("data/raw/c.txt", "c\n")
        self.ok("add", "data/raw")  # the pointer now names v2; v1 lives only in its tag
        os.chmod(self.loose_path(ptr["object"]), 0o644)
        os.remove(self.loose_path(ptr["object"]))
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("data/raw@v1", r.stdout + r.stderr)


class SecretsTest(CairnTestCase):
    def test_config_local_stays_private_after_remote_remove(self):
        self.ok("remote", "add", "a", "s3://bucket/a", "--access-key-id", "AKIA1", "--secret-access-key", "s1")
        self.ok("remote", "add", "b", "s3://bucket/b", "--access-key-id", "AKIA2", "--secret-access-key", "s2")
        local = os.path.join(self.cairn_dir, "config.local")
        self.assertEqual(stat.S_IMODE(os.stat(local).st_mode), 0o600)
        self.ok("remote", "remove", "a")
        self.assertEqual(stat.S_IMODE(os.stat(local).st_mode), 0o600)
        with open(local) as f:
            self.assertIn("s2", f.read())

    def test_no_temp_file_of_config_local_is_ever_readable_by_others(self):
        # Watch the directory while remote add runs: every file whose name
        # mentions config.local must be private from its first moment.
        p = self.popen("remote", "add", "c", "s3://bucket/c", "--access-key-id", "AKIA3",
                       "--secret-access-key", "s3")
        seen = []
        while p.poll() is None:
            for name in os.listdir(self.cairn_dir):
                if "config.local" in name:
                    try:
                        seen.append((name, stat.S_IMODE(os.stat(os.path.join(self.cairn_dir, name)).st_mode)))
                    except FileNotFoundError:
                        pass
        p.communicate()
        self.assertEqual(p.returncode, 0)
        for name, mode in seen:
            self.assertEqual(mode & 0o077, 0, "%s was %o" % (name, mode))


class InterruptedCheckoutTest(CairnTestCase):
    def test_a_killed_checkout_leaves_no_temp_file_in_the_workspace(self):
        big1 = bytes(range(256)) * (64 * 1024)    # 16 MiB
        big2 = bytes(reversed(range(256))) * (64 * 1024)
        self.write("d/x.bin", big1)
        self.ok("add", "d")
        self.commit()
        self.write("d/x.bin", big2)
        self.ok("add", "d")
        self.commit()
        for delay in (0.02, 0.05, 0.1):
            with self.subTest(delay=delay):
                self.git("checkout", "-q", "HEAD~1")
                p = self.popen("checkout")
                time.sleep(delay)
                p.kill()
                p.communicate()
                leftovers = [n for n in os.listdir(self.path("d")) if "cairn-tmp" in n]
                self.assertEqual(leftovers, [])
                self.ok("checkout")
                self.assertEqual(self.sha("d/x.bin"), sha256_bytes(big1))
                self.ok("status", "--exit-code")
                self.git("checkout", "-q", "main")
                self.ok("checkout")


if __name__ == "__main__":
    unittest.main()
