"""Concurrency rounds: two adds at once, add while gc --apply runs, two gc --apply at once,
and readers (`cairn status`, `cairn runs`, Python start_run/log_metric/end_run) while gc
rewrites packs, each started at random offsets.

Afterwards every command exited 0 (waiting for the lock when it had to), every pointer names
data that is in the cache, every tracked path checks out bit-identical, `cairn fsck` is
clean, and every run that reported success is listed FINISHED by `cairn runs`.
"""

import json
import os
import sys
import threading
import time
import unittest

from faultlib import CAIRN_BIN, MIB, OK, Campaign, FaultTestCase, count

WAITING = "cairn: waiting for another cairn command"


class ConcurrencyRounds(FaultTestCase):

    def setUp(self):
        super().setUp()
        self.serial = 0
        self.fresh_repository()

    def fresh_repository(self):
        """A new repository with one committed dataset (the first, and after a failed round, so
        that its damage does not fail the rounds after it)."""
        self.repo = os.path.join(self.tmp, self.next_name("repo"))
        os.mkdir(self.repo)
        self.init_repo()
        self.tracked = {}  # path -> manifest, for every committed dataset
        self.lives = []
        self.tracked["base"] = self.write_tree("base", seed=0, files=100, big=MIB)
        self.ok("add", "base")
        self.commit(message="base")

    # ---- helpers ------------------------------------------------------------------------------

    def next_name(self, prefix):
        self.serial += 1
        return "%s%d" % (prefix, self.serial)

    def start_all(self, commands):
        """commands: [(label, argv, offset seconds, env)]; starts each at its offset. Returns
        [(label, Popen, files)]."""
        t0 = time.monotonic()
        started = []
        for label, argv, offset, env in sorted(commands, key=lambda c: c[2]):
            delay = t0 + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            p, files = self.spawn(argv, env=env)
            started.append((label, p, files))
        return started

    def finish_all(self, started, what):
        """Waits for every command; asserts each exited 0."""
        results = {}
        for label, p, files in started:
            out, err = self.collect(p, files)
            results[label] = (p.returncode, out, err)
        bad = {l: r for l, r in results.items() if r[0] != OK}
        if bad:
            self.fail("%s: %s\n%s" % (what, ", ".join("%s exited %s" % (l, r[0]) for l, r in bad.items()), "\n".join(
                "--- %s:\n%s%s" % (l, r[1][-1500:], r[2][-1500:]) for l, r in bad.items())))
        return results

    def after_round(self, what, touched):
        """The checks every round ends with: the datasets it touched and a few others are
        checked out bit-identical."""
        self.assert_pointers_in_cache(what)
        self.assert_fsck(what)
        others = sorted(set(self.tracked) - set(touched))
        for rel in list(touched) + self.rng.sample(others, min(3, len(others))):
            man = self.tracked[rel]
            self.disturb(rel, man)
            r = self.cairn("checkout", rel)
            self.assertEqual(r.returncode, OK, "%s: checkout %s:\n%s" % (what, rel, self.describe(r)))
            self.assert_manifest(rel, man, what)
        self.check(what + ": status --exit-code", "status", "--exit-code")

    def live_dataset(self, files=60, big=256 * 1024):
        rel = self.next_name("live")
        self.tracked[rel] = self.write_tree(rel, seed=self.serial, files=files, big=big)
        return rel

    def garbage_sharing_packs(self, files=300):
        """Adds a live dataset and a junk one in one command (their small blobs share packs),
        commits the live one and drops the junk: gc --apply has packs to rewrite."""
        live = self.live_dataset()
        junk = "junk"  # rewritten each time, never committed; the directory stays untracked
        self.write_tree(junk, seed=self.serial, files=files, big=2 * MIB)
        self.ok("add", live, junk)
        os.remove(self.path(junk + ".cairn"))
        self.commit(message=live)
        self.lives.append(live)
        self.last_live = live

    def lock_holder(self):
        try:
            with open(os.path.join(self.cairn_dir, "lock")) as f:
                return f.read().strip()
        except OSError:
            return ""

    def start_pair(self, first, second):
        """Starts two commands ((label, argv) each). Mostly the second starts while the first
        holds the lock (so it opens the repository, then waits, and works after the first
        changed the cache: the interleaving that loses data or fails); otherwise both at
        random offsets. Returns (started, description)."""
        if self.rng.random() < 0.75:
            p, files = self.spawn(first[1])
            deadline = time.monotonic() + 30
            while p.poll() is None and self.lock_holder() != str(p.pid) and time.monotonic() < deadline:
                time.sleep(0.001)
            held = p.poll() is None
            jitter = self.rng.uniform(0, 0.03)
            time.sleep(jitter)
            q, qfiles = self.spawn(second[1])
            return ([(first[0], p, files), (second[0], q, qfiles)],
                    "%s started %.3fs after %s took the lock%s" % (second[0], jitter, first[0],
                                                                "" if held else " (it had already finished)"))
        o1, o2 = self.offsets(2)
        return (self.start_all([(first[0], first[1], o1, None), (second[0], second[1], o2, None)]),
                "%s at %.3fs, %s at %.3fs" % (first[0], o1, second[0], o2))

    def offsets(self, n, spread=0.15):
        return [self.rng.uniform(0, spread) for _ in range(n)]

    # ---- the rounds -----------------------------------------------------------------------------

    def round_two_adds(self, label):
        a, b = self.next_name("a"), self.next_name("b")
        shared = self.rng.random() < 0.5  # the same small files in both: the same blobs raced for
        ma = self.write_tree(a, seed=self.serial, files=200, big=3 * MIB)
        mb = self.write_tree(b, seed=self.serial if shared else self.serial + 1, files=200, big=3 * MIB)
        started, how = self.start_pair(("add " + a, [CAIRN_BIN, "add", a]), ("add " + b, [CAIRN_BIN, "add", b]))
        what = "two adds at once (%s: %s%s)" % (label, how, ", shared content" if shared else "")
        self.finish_all(started, what)
        self.tracked.update({a: ma, b: mb})
        self.commit(message=what)
        self.after_round(what, [a, b])

    def round_add_during_gc(self, label):
        self.garbage_sharing_packs()
        # x was added once and dropped: its blobs are garbage gc will remove, and the add
        # about to run finds them in the cache when it starts.
        x = self.next_name("x")
        man = self.write_tree(x, seed=self.serial, files=150, big=MIB)
        self.ok("add", x)
        os.remove(self.path(x + ".cairn"))
        gc, add = ("gc --apply", [CAIRN_BIN, "gc", "--apply"]), ("add " + x, [CAIRN_BIN, "add", x])
        started, how = self.start_pair(*((gc, add) if self.rng.random() < 0.8 else (add, gc)))
        what = "add while gc --apply runs (%s: %s)" % (label, how)
        self.finish_all(started, what)
        self.tracked[x] = man
        self.commit(message=what)
        self.after_round(what, [x, self.last_live])

    def round_two_gcs(self, label):
        self.garbage_sharing_packs()
        self.garbage_sharing_packs()
        started, how = self.start_pair(("gc --apply #1", [CAIRN_BIN, "gc", "--apply"]),
                                       ("gc --apply #2", [CAIRN_BIN, "gc", "--apply"]))
        what = "two gc --apply at once (%s: %s)" % (label, how)
        self.finish_all(started, what)
        left = json.loads(self.check(what, "gc", "--json").stdout)
        self.assertEqual(left["objects_removed"], 0, "%s: garbage left: %s" % (what, left))
        self.after_round(what, self.lives[-2:])

    LOGGER = r'''
import os, sys, cairn
stop, n = sys.argv[1], 0
while True:
    run = cairn.start_run(name="reader")
    for s in range(200):
        cairn.log_metric("m", s, step=s)
    cairn.end_run()
    print("DONE", run.id, flush=True)
    n += 1
    if os.path.exists(stop):
        break
'''

    def round_readers_during_gc(self, label):
        env = self.python_env()
        self.garbage_sharing_packs(files=600)
        self.garbage_sharing_packs(files=600)
        script = os.path.join(self.tmp, "reader.py")
        with open(script, "w") as f:
            f.write(self.LOGGER)
        stop = os.path.join(self.tmp, "stop-%d" % self.serial)
        loggers = [self.spawn([sys.executable, script, stop], env=env) for _ in range(2)]
        failures = []
        done = threading.Event()
        counts = {"status": 0, "runs": 0}

        def reader(args):
            while not done.is_set():
                r = self.cairn(*args)
                counts[args[0]] += 1
                if r.returncode != OK:
                    failures.append("cairn %s: %s" % (" ".join(args), self.describe(r)))

        threads = [threading.Thread(target=reader, args=(a,)) for a in (("status",), ("runs", "-n", "5"))]
        what = "readers while gc --apply rewrites packs (%s)" % label
        try:
            # Every logger is logging before gc starts.
            deadline = time.monotonic() + 60
            for p, (out, _) in loggers:
                while time.monotonic() < deadline and p.poll() is None:
                    out.seek(0)
                    if b"DONE" in out.read():
                        break
                    time.sleep(0.01)
            for t in threads:
                t.start()
            time.sleep(self.rng.uniform(0, 0.1))
            d, rc, out, err = self.timed([CAIRN_BIN, "gc", "--apply", "--json"])
            self.assertEqual(rc, OK, "%s: gc --apply:\n%s%s" % (what, out, err))
            rewritten = json.loads(out).get("packs_rewritten")
            what += ", %d pack(s) rewritten in %.2fs" % (rewritten or 0, d)
        finally:
            done.set()
            with open(stop, "w"):
                pass
            for t in threads:
                if t.is_alive():
                    t.join()
        logged = []
        for p, files in loggers:
            out, err = self.collect(p, files, timeout=120)
            ids = [l.split()[1] for l in out.splitlines() if l.startswith("DONE ")]
            logged += ids
            if p.returncode != OK:
                failures.append("Python logger exit %s after %d runs:\n%s" % (p.returncode, len(ids), err[-3000:]))
        if failures:
            self.fail("%s: %d reader(s) failed (of %d status and %d runs calls and the Python loggers), first: %s"
                      % (what, len(failures), counts["status"], counts["runs"], "\n".join(failures[:5])))
        runs = {x["id"]: x for x in json.loads(self.check(what, "runs", "--json", "-n", "1000000").stdout)}
        lost = [i for i in logged if runs.get(i, {}).get("status") != "FINISHED"]
        if lost:
            self.fail("%s: %d of %d runs that reported success are not listed FINISHED: %s"
                      % (what, len(lost), len(logged), lost[:5]))
        self.after_round(what, self.lives[-2:])

    def test_rounds(self):
        camp = Campaign(self, "rounds", "concurrency rounds", max_failures=10 ** 6)
        kinds = [("two adds", self.round_two_adds), ("add during gc", self.round_add_during_gc),
                 ("two gc", self.round_two_gcs), ("readers during gc", self.round_readers_during_gc)]
        n = count(3)
        order = [k for k in kinds for _ in range(n)]
        self.rng.shuffle(order)
        failed = {}
        for i, (name, fn) in enumerate(order):
            if not camp.run("%s, round %d" % (name, i + 1), lambda: fn("round %d" % (i + 1))):
                failed[name] = failed.get(name, 0) + 1
                self.fresh_repository()
        print("\nrounds by kind (%d each): %s" % (n, ", ".join("%s %d failed" % (k, failed.get(k, 0))
                                                             for k, _ in kinds)))
        camp.finish()


if __name__ == "__main__":
    unittest.main()
