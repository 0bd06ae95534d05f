"""Concurrent commands and interrupted adds: the lock, and crash safety under kill -9."""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from cairn_testlib import CAIRN_BIN, CairnTestCase, deterministic_bytes, missing, parse_pointer, sha256_bytes

MIB = 1 << 20
LOCKED = "the repository is locked by another cairn command"


class Locking(CairnTestCase):

    def make_dir(self, rel, seed, files=200, big=MIB):
        for i in range(files):
            self.write("%s/f%04d.txt" % (rel, i), "%s %d %d\n" % (rel, seed, i))
        self.write(rel + "/big.bin", deterministic_bytes(big, seed=seed))

    def test_parallel_adds_both_succeed(self):
        for round_ in range(3):
            self.make_dir("a", seed=10 + round_)
            self.make_dir("b", seed=20 + round_)
            pa = self.popen("add", "a", "--json", env={"CAIRN_LOCK_TIMEOUT": "60"})
            pb = self.popen("add", "b", "--json", env={"CAIRN_LOCK_TIMEOUT": "60"})
            outs = [p.communicate(timeout=120) for p in (pa, pb)]
            for p, (out, err), name in ((pa, outs[0], "a"), (pb, outs[1], "b")):
                self.assertEqual(p.returncode, 0, "round %d: add %s failed:\n%s%s" % (round_, name, out, err))
            st = self.status()
            self.assertEqual(st["a"]["state"], "clean")
            self.assertEqual(st["b"]["state"], "clean")
            self.fsck_clean()
        self.assertEqual(len(self.json("log", "a")), 3)
        self.assertEqual(len(self.json("log", "b")), 3)

    def test_parallel_adds_without_waiting(self):
        self.make_dir("a", seed=1)
        self.make_dir("b", seed=2)
        pa = self.popen("add", "a", env={"CAIRN_LOCK_TIMEOUT": "0"})
        pb = self.popen("add", "b", env={"CAIRN_LOCK_TIMEOUT": "0"})
        results = {}
        for p, name in ((pa, "a"), (pb, "b")):
            out, err = p.communicate(timeout=120)
            results[name] = (p.returncode, out, err)
        for name, (rc, out, err) in results.items():
            self.assertIn(rc, (0, 2), err)
            if rc == 2:
                self.assertIn(LOCKED, err)
                self.assertIn("hint: wait for it to finish", err)
                self.assertFalse(os.path.exists(self.path(name + ".cairn")))
            else:
                self.assertTrue(os.path.exists(self.path(name + ".cairn")))
        self.assertIn(0, [rc for rc, _, _ in results.values()], results)
        self.fsck_clean()
        # The loser can simply run again.
        for name, (rc, _, _) in results.items():
            if rc != 0:
                self.ok("add", name)
        self.fsck_clean()
        self.ok("status", "--exit-code")

    def test_held_lock_fails_fast_and_changes_nothing(self):
        self.copy_example("iris.csv", "iris.csv")
        self.add1("iris.csv")
        self.ok("tag", "iris.csv", "v1")
        self.copy_example("wine_data.csv", "wine.csv")
        os.remove(self.path("iris.csv"))
        holder = str(os.getpid())  # a live process: a waiter names only a holder that is alive
        self.hold_lock(holder)
        before = self.full_snapshot()
        env = {"CAIRN_LOCK_TIMEOUT": "0"}
        for args in (["add", "wine.csv"], ["checkout"], ["gc", "--apply"], ["tag", "iris.csv", "v2"],
                     ["tag", "--delete", "iris.csv@v1"]):
            with self.subTest(args=args):
                t0 = time.monotonic()
                r = self.fails(*args, env=env, msg="%s (pid %s)" % (LOCKED, holder), hint="wait for it to finish")
                self.assertLess(time.monotonic() - t0, 5)
                self.assertEqual(r.stdout, "")
        self.assert_unchanged(before)
        # Readers do not need the lock.
        for args in (["status"], ["log", "iris.csv"], ["show", "iris.csv@v1"], ["ls", "iris.csv"],
                     ["diff", "iris.csv@v1", "iris.csv"], ["tag", "--list"], ["fsck"]):
            with self.subTest(args=args):
                self.ok(*args, env=env)

    def test_waits_for_the_lock(self):
        self.copy_example("iris.csv", "iris.csv")
        lock = self.hold_lock()
        p = self.popen("add", "iris.csv", env={"CAIRN_LOCK_TIMEOUT": "30"})
        time.sleep(0.7)
        self.assertIsNone(p.poll(), "add did not wait for the lock")
        self.assertFalse(os.path.exists(self.path("iris.csv.cairn")))
        lock.close()  # releases the flock
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        self.assertIn("cairn: waiting for another cairn command (pid %d) to finish..." % os.getpid(), err)
        self.assertTrue(os.path.exists(self.path("iris.csv.cairn")))

    def test_lock_timeout(self):
        self.copy_example("iris.csv", "iris.csv")
        self.hold_lock()
        t0 = time.monotonic()
        r = self.fails("add", "iris.csv", env={"CAIRN_LOCK_TIMEOUT": "0.5"}, msg=LOCKED)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 5)
        self.assertIn("waiting for another cairn command", r.stderr)
        self.assertFalse(os.path.exists(self.path("iris.csv.cairn")))


class KillDuringAdd(CairnTestCase):
    """kill -9 in the middle of `cairn add`: never a half-written pointer, fsck clean, rerun works.

    The add is killed at several points: as soon as it creates a temp file, in
    the middle of copying the 50 MB file, late (near the pointer write), and
    right after the new tree object lands in the cache.
    """

    SMALL = 3000
    LARGE = 50 * MIB

    def make_tree(self, seed, large=None):
        for d in range(30):
            os.makedirs(self.path("big/small/%02d" % d), exist_ok=True)
        for i in range(self.SMALL):
            with open(self.path("big/small/%02d/f%05d.txt" % (i % 30, i)), "w") as f:
                f.write("file %d of generation %d\n" % (i, seed))
        self.write("big/large.bin", deterministic_bytes(self.LARGE if large is None else large, seed=seed))

    def loose_objects(self):
        root = os.path.join(self.cairn_dir, "cache", "sha256")
        out = set()
        try:
            for d in os.scandir(root):
                for f in os.scandir(d.path):
                    out.add(f.path)
        except FileNotFoundError:
            pass
        return out

    def temp_files(self):
        try:
            return set(os.listdir(os.path.join(self.cairn_dir, "tmp")))
        except FileNotFoundError:
            return set()

    def kill_mid_add(self, trigger):
        """Starts `cairn add big` and SIGKILLs it once trigger(before, elapsed) is true; returns its exit status."""
        before = {"tmp": self.temp_files(), "loose": self.loose_objects()}  # leftovers of an earlier kill
        start = time.monotonic()
        p = self.popen("add", "big")
        while p.poll() is None and time.monotonic() < start + 60:
            if trigger(before, time.monotonic() - start):
                break
            time.sleep(0.0002)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        return p.returncode

    @staticmethod
    def after(seconds):
        return lambda before, elapsed: elapsed >= seconds

    def any_temp(self, before, elapsed):
        return bool(self.temp_files() - before["tmp"])

    def large_blob_started(self, before, elapsed):
        tmp = os.path.join(self.cairn_dir, "tmp")
        for n in self.temp_files() - before["tmp"]:
            if n.startswith(".blob.tmp-"):
                try:
                    if os.path.getsize(os.path.join(tmp, n)) > 4 * MIB:
                        return True
                except FileNotFoundError:
                    pass
        return False

    def tree_written(self, before, elapsed):
        for path in self.loose_objects() - before["loose"]:
            try:
                with open(path, "rb") as f:
                    if f.read(11) == b"cairn-tree ":
                        return True
            except FileNotFoundError:
                pass
        return False

    def triggers(self, late):
        return (("first temp file", self.any_temp), ("copying the large file", self.large_blob_started),
                ("late", self.after(late)))

    def check_after_kill(self, old_pointer, when):
        ptr = self.path("big.cairn")
        if old_pointer is None:
            if os.path.exists(ptr):  # killed after the pointer landed: it must be whole
                with open(ptr) as f:
                    fields = parse_pointer(f.read())
                self.assertEqual(fields.get("files"), str(self.SMALL + 1))
        else:
            with open(ptr, "rb") as f:
                now = f.read()
            if now != old_pointer:
                fields = parse_pointer(now.decode())
                self.assertEqual(fields.get("format"), "1")
                self.assertEqual(fields.get("files"), str(self.SMALL + 1))
        # A dead process holds no lock, and the cache is consistent.
        r = self.cairn("fsck", env={"CAIRN_LOCK_TIMEOUT": "0"})
        self.assertEqual(r.returncode, 0, "fsck after kill -9 (%s):\n%s" % (when, self.describe(r)))

    def test_kill_first_add_then_rerun(self):
        self.make_tree(seed=1)
        killed = 0
        for when, trigger in self.triggers(late=0.15):
            if os.path.exists(self.path("big.cairn")):
                break
            if self.kill_mid_add(trigger) == -signal.SIGKILL:
                killed += 1
            self.check_after_kill(None, when)
        self.assertGreater(killed, 0, "cairn add finished before it could be killed")
        res = self.json("add", "big", env={"CAIRN_LOCK_TIMEOUT": "0"})[0]
        self.assertEqual(res["files"], self.SMALL + 1)
        self.assertEqual(res["bytes"], sum(os.path.getsize(os.path.join(dp, n))
                                           for dp, _, ns in os.walk(self.path("big")) for n in ns))
        self.ok("status", "--exit-code")
        self.fsck_clean()

    def test_kill_re_add_keeps_old_pointer(self):
        self.make_tree(seed=1)
        t0 = time.monotonic()
        v1 = self.add1("big")["version"]
        full = time.monotonic() - t0
        old = self.pointer_bytes("big")
        self.make_tree(seed=2)  # every file changes
        killed = 0
        for when, trigger in self.triggers(late=full * 0.8):
            if self.pointer_bytes("big") != old:
                break
            if self.kill_mid_add(trigger) == -signal.SIGKILL:
                killed += 1
            self.check_after_kill(old, when)
        self.assertGreater(killed, 0, "cairn add finished before it could be killed")
        if self.pointer_bytes("big") == old:
            self.assertEqual(self.json("show", "big")["version"], v1)
            self.assertEqual(self.status("big")["big"]["state"], "modified")
        res = self.json("add", "big", env={"CAIRN_LOCK_TIMEOUT": "0"})[0]
        self.assertEqual(res["files"], self.SMALL + 1)
        self.ok("status", "--exit-code")
        self.fsck_clean()
        log = self.json("log", "big")
        self.assertEqual(log[-1]["version"], v1)
        # The bytes restored from the cache are the new ones.
        os.remove(self.path("big/large.bin"))
        self.ok("checkout")
        self.assertEqual(self.sha("big/large.bin"), sha256_bytes(deterministic_bytes(self.LARGE, seed=2)))

    def test_kill_right_after_tree_object_written(self):
        # The new tree object is stored before the pack holding its small
        # blobs is finished: a crash in between must not leave a tree that
        # names blobs the cache does not have.
        self.make_tree(seed=1, large=MIB)
        v1 = self.add1("big")["version"]
        old = self.pointer_bytes("big")
        self.make_tree(seed=2, large=MIB)
        rc = self.kill_mid_add(self.tree_written)
        self.assertEqual(rc, -signal.SIGKILL, "cairn add finished before it could be killed")
        self.assertEqual(self.pointer_bytes("big"), old)
        self.check_after_kill(old, "tree object written")
        self.assertEqual(self.add1("big")["parent"], v1)
        self.fsck_clean()
        self.ok("status", "--exit-code")


class PacksReplacedMeanwhile(CairnTestCase):
    """A command that opened the repository before gc --apply replaced packs (it waited for the
    lock, or it is a reader, or a long-lived Python process) must neither lose data nor fail.

    The interleaving is forced: this test holds the lock, so the commands open the repository
    and then wait ("waiting for another cairn command" on stderr) until it is released.
    """

    WAITING = "cairn: waiting for another cairn command"

    def make_dir(self, rel, seed, files=40):
        for i in range(files):
            self.write("%s/f%04d.txt" % (rel, i), "%s %d %d\n" % (rel, seed, i))
        self.write(rel + "/big.bin", deterministic_bytes(MIB, seed=seed))

    def start_waiting(self, *args):
        """Starts a cairn command and returns once it waits for the lock (it has opened the repository)."""
        p = self.popen(*args, env={"CAIRN_LOCK_TIMEOUT": "60"})
        self.addCleanup(lambda: p.poll() is None and p.kill())
        line = p.stderr.readline()
        self.assertIn(self.WAITING, line, "%s did not wait for the lock" % (args,))
        return p

    def finish(self, p):
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        return out

    def pack_files(self):
        d = os.path.join(self.cairn_dir, "cache", "packs")
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def test_add_that_waited_for_gc_stores_what_gc_removed(self):
        self.make_dir("a", seed=1)
        self.add1("a")
        small = "sha256:" + self.sha("a/f0000.txt")
        big = "sha256:" + self.sha("a/big.bin")
        tree = self.pointer("a")["object"]
        os.remove(self.path("a.cairn"))  # never committed: all of its data is garbage now
        lock = self.hold_lock()
        add = self.start_waiting("add", "a")
        # While add waits, gc --apply (which also waits for this lock, so it is done here,
        # exactly as gc does it) removes the garbage: the packs, index first, and the loose
        # objects.
        for f in sorted(self.pack_files(), key=lambda f: not f.endswith(".idx")):
            os.remove(f)
        for oid in (big, tree):
            os.remove(self.loose_path(oid))
        lock.close()
        self.finish(add)  # used to exit 0 without storing the blobs it had seen before the lock
        self.assertTrue(self.in_cache(small))
        self.assertTrue(self.in_cache(big))
        self.fsck_clean()
        self.assertEqual(self.status()["a"]["state"], "clean")

    def test_two_gc_at_once_both_succeed(self):
        self.make_dir("a", seed=1)
        self.add1("a")
        for i in range(0, 40, 4):  # a tenth of the small files change: their old blobs are garbage
            self.write("a/f%04d.txt" % i, "changed %d\n" % i)
        self.add1("a")
        lock = self.hold_lock()
        first = self.start_waiting("gc", "--apply")
        second = self.start_waiting("gc", "--apply")
        lock.close()
        self.finish(first)  # the one that waited longer used to fail: pack-….pack: no such file
        self.finish(second)
        self.fsck_clean()
        self.assertEqual(self.status()["a"]["state"], "clean")
        self.ok("gc", "--apply")

    def test_python_process_across_gc(self):
        """A long-lived Python process (its repository opened before gc) logs an artifact whose
        bytes gc had just removed, and reads a dataset from packs gc rewrote."""
        pythonpath = os.path.abspath(os.environ.get("CAIRN_PYTHONPATH") or
                                     os.path.join(os.path.dirname(CAIRN_BIN), "python"))
        if not os.path.isdir(os.path.join(pythonpath, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % pythonpath)
        self.make_dir("a", seed=1)
        self.add1("a")
        old = {}
        for i in range(0, 40, 2):  # half of the small files change: their old blobs are garbage
            rel = "a/f%04d.txt" % i
            old[sha256_bytes(self.read(rel))] = self.read(rel)
            self.write(rel, "changed %d\n" % i)
        self.add1("a")
        live = {self.sha("a/f%04d.txt" % i) for i in range(40)}
        packs = {}
        for oid, (pack, _, _) in self.pack_entries().items():
            packs.setdefault(pack, set()).add(oid)
        self.assertTrue(any(oids & live and oids & set(old) for oids in packs.values()),
                        "no pack holds both live and garbage blobs: gc would rewrite none")
        garbage = sorted(old.items())[0][1]
        script = os.path.join(self.tmp, "across_gc.py")
        with open(script, "w") as f:
            f.write("import os, sys, cairn\n"
                    "run = cairn.start_run(name='across-gc')\n"
                    "print('READY', flush=True)\n"
                    "sys.stdin.readline()\n"
                    "with open('copy.txt', 'wb') as out:\n"
                    "    out.write(%r)\n"
                    "cairn.log_artifact('copy.txt')\n"
                    "path = cairn.use_dataset('a')\n"
                    "print('READ', len(os.listdir(path)), flush=True)\n"
                    "cairn.end_run()\n" % garbage)
        shutil.rmtree(self.path("a"))  # so use_dataset reads the cache, not the workspace
        env = dict(self.env, PYTHONPATH=pythonpath)
        p = subprocess.Popen([sys.executable, script], cwd=self.repo, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        line = p.stdout.readline()
        if line != "READY\n":
            p.kill()
            self.fail("the script did not start:\n" + line + p.communicate()[1])
        gc = self.json("gc", "--apply")  # rewrites the packs that held old blobs
        self.assertGreaterEqual(gc["packs_rewritten"], 1)
        out, err = p.communicate("go\n", timeout=60)
        self.assertEqual(p.returncode, 0, out + err)  # reading used to fail: pack-….pack: no such file
        self.assertIn("READ 41\n", out)
        self.fsck_clean()  # used to report the artifact missing from the cache
        self.assertTrue(self.in_cache("sha256:" + sha256_bytes(garbage)))


if __name__ == "__main__":
    unittest.main()
