"""kill -9 campaign: add (new and changed), push, gc --apply, checkout, repro and a Python
logger, each killed at delays spread over its measured duration.

After every kill: the next command of the same kind succeeds without --force or any
manual repair, `cairn fsck` exits 0, the previously committed version is bit-identical
when checked out (sha256 of every file against what was recorded), `cairn status` lists
no stray temp file as added, and nothing is left in the workspace but our own files.
"""

import json
import os
import shutil
import sys
import unittest

from faultlib import (CAIRN_BIN, MIB, OK, Campaign, FaultTestCase, count, deterministic_bytes, parse_pointer,
                      sha256_bytes, spread_delays)


class KillCampaign(FaultTestCase):
    """Timed kills. test_crashpoints.py reuses the scenarios with kills at exact operations."""

    KIND = "kills"
    SMALL_FILES = 300  # a few hundred files and one 30 MB file: kills land mid-work
    BIG = 30 * MIB

    def campaign(self, scenario, **kw):
        return Campaign(self, self.KIND, scenario, **kw)

    def kill_points(self, n, duration):
        return spread_delays(self.rng, n, duration)

    def point_label(self, i, n, delay, duration):
        return "#%d of %d, kill after %.3fs of ~%.3fs" % (i + 1, n, delay, duration)

    # ---- the loop ---------------------------------------------------------------------------

    def kill_loop(self, camp, n, duration, attempt):
        """Calls attempt(label, delay) -> Killed until n commands were really killed, at delays
        spread over `duration`; a command that finished first is retried earlier."""
        delays = self.kill_points(n, duration)
        n = len(delays)
        for i, delay in enumerate(delays):
            for _ in range(4):
                if camp.give_up:
                    return
                label = self.point_label(i, n, delay, duration)
                k = attempt(label, delay)
                if k.killed:
                    break
                delay = self.rng.uniform(0, max(k.elapsed, 0.01) * 0.9)

    # ---- shared pieces ------------------------------------------------------------------------

    def reference(self):
        """A small dataset `ref`, added and committed: {file: sha256}."""
        man = self.write_tree("ref", seed=7, files=40, big=300 * 1024)
        self.ok("add", "ref")
        self.commit(message="ref")
        return man

    def assert_checkout_identical(self, rel, expected, what):
        """Removes or changes files of rel (its large one, a sample of the rest), checks it out
        again and compares every file's sha256 with the recorded one."""
        self.disturb(rel, expected)
        self.check(what + " (checkout of %s)" % rel, "checkout", rel)
        self.assert_manifest(rel, expected, what)

    def assert_no_strays(self, what, allowed):
        strays = self.workspace_strays(allowed)
        for rel in strays:  # reported below; removed so the next injections are judged on their own
            os.remove(self.path(rel))
        if strays:
            self.fail("%s: files left in the workspace (git status shows them): %s" % (what, strays[:10]))

    def assert_whole_pointer(self, rel, files, what, old_bytes=None):
        """The pointer is the old one (old_bytes) or a complete new one naming `files` files."""
        p = self.path(rel + ".cairn")
        if not os.path.exists(p):
            self.assertIsNone(old_bytes, "%s: the pointer %s.cairn disappeared" % (what, rel))
            return
        with open(p, "rb") as f:
            data = f.read()
        if data == old_bytes:
            return
        fields = parse_pointer(data.decode(errors="replace"))
        self.assertEqual(fields.get("format"), "1", "%s: damaged pointer %s.cairn:\n%r" % (what, rel, data))
        self.assertEqual(fields.get("files"), str(files), "%s: pointer %s.cairn:\n%r" % (what, rel, data))

    def mutate(self, rel, manifest, seed, big=None):
        """A changed version of a write_tree directory: the large file rewritten, about a third
        of the small files changed, a few removed and a few new. Returns the new manifest."""
        rng = self.rng
        root = self.path(rel)
        out = dict(manifest)
        for name in sorted(manifest):
            if name == "big.bin":
                continue
            r = rng.random()
            if r < 0.3:
                data = ("changed %s %d\n" % (name, seed)).encode() * rng.randint(1, 50)
                with open(os.path.join(root, name), "wb") as f:
                    f.write(data)
                out[name] = sha256_bytes(data)
            elif r < 0.33:
                os.remove(os.path.join(root, name))
                del out[name]
        for j in range(rng.randint(1, 10)):
            name = "new/s%d-%d.txt" % (seed, j)
            data = ("new %d %d\n" % (seed, j)).encode()
            os.makedirs(os.path.join(root, "new"), exist_ok=True)
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)
            out[name] = sha256_bytes(data)
        data = deterministic_bytes(big or self.BIG, seed=seed)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(data)
        out["big.bin"] = sha256_bytes(data)
        return out

    # ---- 1. add of a new dataset ----------------------------------------------------------------

    def test_add_new_dataset(self):
        ref = self.reference()
        camp = self.campaign("kill -9 during add of a new dataset")
        seed = [100]

        def fresh():
            """`fresh` becomes a new dataset again: no pointer, its data garbage-collected, new bytes."""
            if os.path.exists(self.path("fresh.cairn")):
                os.remove(self.path("fresh.cairn"))
                self.ok("gc", "--apply")
            seed[0] += 1
            return self.write_tree("fresh", seed=seed[0], files=self.SMALL_FILES, big=self.BIG)

        fresh()
        duration, rc, out, err = self.timed([CAIRN_BIN, "add", "fresh"])
        self.assertEqual(rc, OK, err)

        def attempt(label, delay):
            man = fresh()
            k = self.kill_after([CAIRN_BIN, "add", "fresh"], delay)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "add fresh (not killed):\n" + k.stderr)
                return k

            def checks():
                what = "after kill -9 of add of a new dataset"
                self.assert_whole_pointer("fresh", len(man), what)
                self.assert_fsck(what)
                self.assert_no_stray_added(what, {"fresh": set(man), "ref": set(ref)})
                self.assert_no_strays(what, ["ref", "fresh"])
                r = self.check(what + ": the next add", "add", "fresh", "--json")
                res = json.loads(r.stdout)[0]
                self.assertEqual(res["files"], len(man), what)
                self.assert_fsck(what + ", then add")
                self.assertEqual(self.status("fresh")["fresh"]["state"], "clean", what)
                self.assert_pointers_in_cache(what)
                self.assert_checkout_identical("fresh", man, what + " (the re-added dataset)")
                self.assert_checkout_identical("ref", ref, what + " (the committed dataset)")
            camp.run(label, checks)
            return k

        self.kill_loop(camp, count(5), duration, attempt)
        camp.finish()

    # ---- 2. add of a changed version --------------------------------------------------------------

    def test_add_changed_version(self):
        camp = self.campaign("kill -9 during add of a changed version")
        man = self.write_tree("big", seed=1, files=self.SMALL_FILES, big=self.BIG)
        self.ok("add", "big")
        self.commit(message="v0")
        state = {"man": man, "seed": 1}
        man2 = self.mutate("big", man, seed=2)
        duration, rc, out, err = self.timed([CAIRN_BIN, "add", "big"])
        self.assertEqual(rc, OK, err)
        self.commit(message="v1")
        state.update(man=man2, seed=2)

        def attempt(label, delay):
            prev = state["man"]
            state["seed"] += 1
            new = self.mutate("big", prev, seed=state["seed"])
            old_ptr = self.pointer_bytes("big")
            k = self.kill_after([CAIRN_BIN, "add", "big"], delay)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "add big (not killed):\n" + k.stderr)
                self.commit(message="v%d" % state["seed"])
                state["man"] = new
                return k

            def checks():
                what = "after kill -9 of add of a changed version"
                self.assert_whole_pointer("big", len(new), what, old_bytes=old_ptr)
                self.assert_fsck(what)
                self.assert_no_stray_added(what, {"big": set(new)})
                self.assert_no_strays(what, ["big"])
                self.check(what + ": the next add", "add", "big")
                self.assert_fsck(what + ", then add")
                self.assertEqual(self.status("big")["big"]["state"], "clean", what)
                self.assert_pointers_in_cache(what)
                self.commit(message="v%d" % state["seed"])
                # The version committed before the kill, then the new one, checked out.
                self.git("checkout", "-q", "HEAD~1", "--", "big.cairn")
                self.check(what, "checkout", "big")
                self.assert_manifest("big", prev, what + " (the previously committed version)")
                self.git("checkout", "-q", "HEAD", "--", "big.cairn")
                self.check(what, "checkout", "big")
                self.assert_manifest("big", new, what + " (the re-added version)")
            if not camp.run(label, checks):
                self.cairn("add", "big")
                self.commit(message="v%d (after a failure)" % state["seed"])
            state["man"] = new
            return k

        self.kill_loop(camp, count(6), duration, attempt)
        camp.finish()

    # ---- 3. push to a directory remote ----------------------------------------------------------

    def test_push(self):
        camp = self.campaign("kill -9 during push")
        remote = os.path.join(self.tmp, "remote")
        self.ok("remote", "add", "origin", remote, "-d")
        man = self.write_tree("big", seed=1, files=self.SMALL_FILES, big=self.BIG)
        self.ok("add", "big")
        self.commit(message="v0")
        duration, rc, out, err = self.timed([CAIRN_BIN, "push"])
        self.assertEqual(rc, OK, err)
        state = {"man": man, "version": self.pointer("big")["version"], "seed": 1}

        def get_identical(version, expected, what):
            dest = os.path.join(self.tmp, "got")
            if os.path.exists(dest):
                shutil.rmtree(dest)
            r = self.cairn("get", remote, "big@" + version.split(":")[-1], "-o", dest, cwd=self.tmp)
            self.assertEqual(r.returncode, OK, "%s: get %s:\n%s" % (what, version, self.describe(r)))
            got = {os.path.relpath(os.path.join(dp, n), dest): None for dp, _, ns in os.walk(dest) for n in ns}
            for rel in got:
                got[rel] = self.manifest(os.path.relpath(os.path.join(dest, rel), self.repo))[""]
            self.assertEqual(sorted(got), sorted(expected), "%s: files of %s from the remote" % (what, version))
            bad = sorted(k for k in got if got[k] != expected[k])
            if bad:
                self.fail("%s: files of %s with other bytes from the remote: %s" % (what, version, bad[:5]))
            shutil.rmtree(dest)

        def attempt(label, delay):
            prev, prev_version = state["man"], state["version"]
            state["seed"] += 1
            new = self.mutate("big", prev, seed=state["seed"])
            self.ok("add", "big")
            self.commit(message="v%d" % state["seed"])
            new_version = self.pointer("big")["version"]
            k = self.kill_after([CAIRN_BIN, "push"], delay)
            state.update(man=new, version=new_version)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "push (not killed):\n" + k.stderr)
                return k

            def checks():
                what = "after kill -9 of push"
                self.check(what + ": fsck --remote", "fsck", "--remote", "origin")
                self.assert_fsck(what)
                self.check(what + ": the next push", "push")
                self.check(what + ", then push: fsck --remote", "fsck", "--remote", "origin")
                get_identical(prev_version, prev, what + " (the previously pushed version)")
                get_identical(new_version, new, what + " (the version pushed again)")
                self.assertEqual(self.status("big")["big"]["state"], "clean", what)
            if not camp.run(label, checks):
                self.cairn("push")
            return k

        self.kill_loop(camp, count(5), duration, attempt)
        camp.finish()

    # ---- 4. gc --apply --------------------------------------------------------------------------

    def test_gc_apply(self):
        camp = self.campaign("kill -9 during gc --apply")
        kept = {"keep": self.write_tree("keep", seed=3, files=100, big=2 * MIB)}
        self.ok("add", "keep")
        self.commit(message="keep")
        serial = [0]

        def make_garbage():
            """One add of a live dataset and a junk one: they share packs, so gc rewrites them."""
            serial[0] += 1
            live = "live%d" % serial[0]
            kept[live] = self.write_tree(live, seed=1000 + serial[0], files=60, big=200 * 1024)
            self.write_tree("junk", seed=2000 + serial[0], files=150, big=8 * MIB)
            for j in (2, 3):  # more loose blobs: gc removes them and their tree in some order
                self.write("junk/big%d.bin" % j, deterministic_bytes(256 * 1024, seed=3000 + 10 * serial[0] + j))
            self.ok("add", live, "junk")
            self.commit(live + ".cairn", message=live)
            os.remove(self.path("junk.cairn"))  # the directory stays, untracked

        make_garbage()
        duration, rc, out, err = self.timed([CAIRN_BIN, "gc", "--apply"])
        self.assertEqual(rc, OK, err)

        def attempt(label, delay):
            make_garbage()
            k = self.kill_after([CAIRN_BIN, "gc", "--apply"], delay)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "gc --apply (not killed):\n" + k.stderr)
                return k

            def checks():
                what = "after kill -9 of gc --apply"
                self.assert_fsck(what)
                self.assert_pointers_in_cache(what)
                self.check(what + ": the next gc --apply", "gc", "--apply")
                r = self.check(what + ", then gc --apply: gc (dry run)", "gc", "--json")
                left = json.loads(r.stdout)
                self.assertEqual(left["objects_removed"], 0, "%s: the next gc --apply left garbage: %s" % (what, left))
                self.assert_fsck(what + ", then gc --apply")
                for rel, man in kept.items():
                    self.assert_checkout_identical(rel, man, what)
                self.check(what + ": status --exit-code", "status", "--exit-code")
                self.assert_no_strays(what, list(kept) + ["junk"])
            if not camp.run(label, checks):
                self.cairn("gc", "--apply")
            return k

        self.kill_loop(camp, count(5), duration, attempt)
        camp.finish()

    # ---- 5. checkout ------------------------------------------------------------------------------

    def test_checkout(self):
        camp = self.campaign("kill -9 during checkout")
        mans = {}
        mans["a"] = self.write_tree("big", seed=1, files=self.SMALL_FILES, big=self.BIG)
        self.ok("add", "big")
        commits = {"a": self.commit(message="A")}
        mans["b"] = self.mutate("big", mans["a"], seed=2)
        self.ok("add", "big")
        commits["b"] = self.commit(message="B")
        self.git("checkout", "-q", "--detach", commits["a"])
        duration, rc, out, err = self.timed([CAIRN_BIN, "checkout"])
        self.assertEqual(rc, OK, err)
        self.assert_manifest("big", mans["a"], "calibration checkout")
        state = {"at": "a"}

        def attempt(label, delay):
            target = "b" if state["at"] == "a" else "a"
            self.git("checkout", "-q", "--detach", commits[target])
            k = self.kill_after([CAIRN_BIN, "checkout"], delay)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "checkout (not killed):\n" + k.stderr)
                self.assert_manifest("big", mans[target], "checkout (not killed)")
                state["at"] = target
                return k
            # Sometimes the user changes their mind: back to the other commit first.
            if self.rng.random() < 0.3:
                target = "a" if target == "b" else "b"
                self.git("checkout", "-q", "--detach", commits[target])
                label += ", then git checkout back"

            def checks():
                what = "after kill -9 of checkout (%s)" % label
                self.assert_fsck(what)
                self.check(what + ": the next checkout, without --force", "checkout")
                self.assert_manifest("big", mans[target], what)
                self.assert_no_strays(what, ["big"])
                self.assert_no_stray_added(what, {"big": set(mans[target])})
                self.check(what + ": status --exit-code", "status", "--exit-code")
                self.assert_fsck(what + ", then checkout")
            if not camp.run(label, checks):
                self.cairn("checkout", "--force")
            state["at"] = target
            return k

        self.kill_loop(camp, count(6), duration, attempt)
        camp.finish()

    # ---- 6. repro -----------------------------------------------------------------------------

    # prep.py and train.py: deterministic functions of the seed param and the raw data, written
    # to the repository and also run here to know what their outputs must be.
    GEN = r'''
import hashlib, os, sys

def prepared(seed, raw):
    """{relative path: bytes} of the prepare stage's output directory."""
    out = {}
    for i in range(150):
        out["part-%03d.csv" % i] = ("%d,%d,%s\n" % (seed, i, raw[:16])).encode() * (1 + i % 30)
    block = hashlib.sha256(b"%d" % seed).digest() * 2048
    out["features.bin"] = block * 64  # 4 MiB
    return out

def model(prepared_digest):
    return hashlib.sha256(prepared_digest.encode()).digest() * 32768  # 1 MiB

def raw_digest(root):
    h = hashlib.sha256()
    for dp, dns, ns in sorted(os.walk(root)):
        dns.sort()
        for n in sorted(ns):
            with open(os.path.join(dp, n), "rb") as f:
                h.update(f.read())
    return h.hexdigest()
'''
    PREP = r'''
import os, sys, time
from gen import prepared, raw_digest
seed = int(sys.argv[1])
os.makedirs("prepared", exist_ok=True)
for name, data in sorted(prepared(seed, raw_digest("raw")).items()):
    with open(os.path.join("prepared", name), "wb") as f:
        f.write(data)
    time.sleep(0.001)
'''
    TRAIN = r'''
import json
from gen import model, raw_digest
d = raw_digest("prepared")
with open("model.bin", "wb") as f:
    f.write(model(d))
with open("metrics.json", "w") as f:
    json.dump({"acc": int(d[:4], 16) / 65536.0}, f)
'''
    YAML = """stages:
  prep:
    cmd: python3 prep.py ${seed}
    deps: [prep.py, gen.py, raw]
    params: [seed]
    outs: [prepared]
  train:
    cmd: python3 train.py
    deps: [train.py, gen.py, prepared]
    outs: [model.bin]
    metrics: [metrics.json]
"""

    def expected_outputs(self, seed):
        ns = {}
        exec(self.GEN, ns)
        raw = ns["raw_digest"](self.path("raw"))
        prep = ns["prepared"](seed, raw)
        h = __import__("hashlib").sha256()
        for name in sorted(prep):
            h.update(prep[name])
        return ({k: sha256_bytes(v) for k, v in prep.items()},
                {"": sha256_bytes(ns["model"](h.hexdigest()))})

    def test_repro(self):
        camp = self.campaign("kill -9 during repro")
        self.write("gen.py", self.GEN)
        self.write("prep.py", self.PREP)
        self.write("train.py", self.TRAIN)
        self.write("cairn.yaml", self.YAML)
        self.write_tree("raw", seed=5, files=50, big=512 * 1024)
        self.ok("add", "raw")
        state = {"seed": 1}
        self.write("params.yaml", "seed: 1\n")
        duration, rc, out, err = self.timed([CAIRN_BIN, "repro"])
        self.assertEqual(rc, OK, out + err)
        self.commit(message="pipeline, seed 1")

        def attempt(label, delay):
            prev = state["seed"]
            state["seed"] += 1
            seed = state["seed"]
            self.write("params.yaml", "seed: %d\n" % seed)
            lock_before = self.read("cairn.lock")
            k = self.kill_after([CAIRN_BIN, "repro"], delay)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "repro (not killed):\n" + k.stdout + k.stderr)
                self.commit(message="seed %d" % seed)
                return k

            def checks():
                what = "after kill -9 of repro"
                lock_now = self.read("cairn.lock")
                if lock_now != lock_before:  # killed after it wrote cairn.lock: it must be whole
                    self.assertTrue(lock_now.endswith(b"\n"), "%s: cairn.lock is truncated" % what)
                self.assert_fsck(what)
                r = self.check(what + ": the next repro", "repro")
                self.assert_fsck(what + ", then repro")
                prep_man, model_man = self.expected_outputs(seed)
                self.assert_manifest("prepared", prep_man, what)
                self.assert_manifest("model.bin", model_man, what)
                st = self.check(what + ": status --exit-code (nothing stale)", "status", "--exit-code")
                self.assert_no_strays(what, ["prepared", "model.bin", "metrics.json", "raw", "gen.py", "prep.py",
                                             "train.py", "cairn.yaml", "cairn.lock", "params.yaml", "__pycache__"])
                runs = json.loads(self.check(what, "runs", "-e", "pipeline", "--json", "-n", "10000").stdout)
                running = [x["id"] for x in runs if x["status"] == "RUNNING"]
                if running:
                    self.fail("%s: runs left RUNNING after the next repro: %s" % (what, running))
                self.commit(message="seed %d" % seed)
                # The outputs committed before, then the new ones, checked out.
                self.git("checkout", "-q", "HEAD~1", "--", "prepared.cairn", "model.bin.cairn")
                self.check(what, "checkout", "prepared", "model.bin")
                pm, mm = self.expected_outputs(prev)
                self.assert_manifest("prepared", pm, what + " (the previously committed outputs)")
                self.assert_manifest("model.bin", mm, what + " (the previously committed outputs)")
                self.git("checkout", "-q", "HEAD", "--", "prepared.cairn", "model.bin.cairn")
                self.check(what, "checkout", "prepared", "model.bin")
                del r, st
            if not camp.run(label, checks):
                self.cairn("repro")
                self.cairn("checkout", "--force")
                self.commit(message="seed %d (after a failure)" % seed)
            return k

        self.kill_loop(camp, count(4), duration, attempt)
        camp.finish()

    # ---- 7. a Python logger -----------------------------------------------------------------------

    LOGGER = r'''
import sys, cairn
name, n = sys.argv[1], int(sys.argv[2])
run = cairn.start_run(name=name, params={"n": n})
print("RUN", run.id, flush=True)
for s in range(n):
    cairn.log_metric("loss", 1.0 / (s + 1), step=s)
    if s % 2000 == 1999:
        cairn.flush()
        print("FLUSHED", s, flush=True)
cairn.end_run()
print("DONE", flush=True)
'''

    def test_python_logger(self):
        camp = self.campaign("kill -9 of a Python logger (start_run, log_metric loop)")
        env = self.python_env()
        script = os.path.join(self.tmp, "logger.py")
        with open(script, "w") as f:
            f.write(self.LOGGER)
        points = 60000
        finished = {}  # run id -> number of points

        def logger(name, n):
            return [sys.executable, script, name, str(n)]

        duration, rc, out, err = self.timed(logger("calibrate", points), env=env)
        self.assertEqual(rc, OK, out + err)
        finished[out.split()[1]] = points

        def runs_by_id(what):
            r = self.check(what, "runs", "--json", "-n", "100000")
            return {x["id"]: x for x in json.loads(r.stdout)}

        def attempt(label, delay):
            name = "logger-%d" % len(finished)
            k = self.kill_after(logger(name, points), delay, env=env, reap=False)
            if not k.killed:
                self.assertEqual(k.returncode, OK, "logger (not killed):\n" + k.stdout + k.stderr)
                finished[k.stdout.split()[1]] = points
                return k

            def checks():
                what = "after kill -9 of a Python logger"
                # The logger is a zombie now (killed, not reaped): it will never end its run.
                runs = runs_by_id(what + " (its process still a zombie)")
                running = [i for i, x in runs.items() if x["status"] == "RUNNING"]
                if running:
                    self.fail("%s: the killed logger's run %s is still RUNNING while its process is a zombie "
                              "(killed, not yet reaped)" % (what, running))
                self.reap_zombie(k)
                lines = k.stdout.splitlines()
                run_id = next((l.split()[1] for l in lines if l.startswith("RUN ")), None)
                flushed = [int(l.split()[1]) for l in lines if l.startswith("FLUSHED ")]
                self.assert_fsck(what)
                if run_id is not None:
                    self.assertIn(run_id, runs, "%s: the killed run is not listed" % what)
                    status = runs[run_id]["status"]
                    # FINISHED when the kill came after end_run (between it and the exit).
                    self.assertIn(status, ("FAILED", "FINISHED"), what)
                    r = self.cairn("runs", "history", run_id, "loss", "--json")
                    if r.returncode != OK and not flushed and "has no metric" in r.stderr:
                        hist = []  # killed before its first point was written
                    else:
                        hist = json.loads(self.check(what, "runs", "history", run_id, "loss", "--json").stdout)
                    if status == "FINISHED":
                        self.assertEqual(len(hist), points, "%s: a FINISHED run lacks points" % what)
                        finished[run_id] = points
                    elif flushed:
                        self.assertGreaterEqual(len(hist), flushed[-1] + 1,
                                                "%s: points flushed before the kill are lost" % what)
                # The next logger works, and every finished run is intact.
                d, rc, out, err = self.timed(logger(name + "-next", 500), env=env)
                self.assertEqual(rc, OK, "%s: the next logger:\n%s%s" % (what, out, err))
                finished[out.split()[1]] = 500
                runs = runs_by_id(what + ", then a logger")
                for rid, n in finished.items():
                    self.assertIn(rid, runs, "%s: finished run %s is not listed" % (what, rid))
                    self.assertEqual(runs[rid]["status"], "FINISHED", what)
                    self.assertEqual(runs[rid]["metrics"]["loss"]["value"], 1.0 / n, "%s: run %s's last loss" % (what, rid))
                self.assert_fsck(what + ", then a logger")
            camp.run(label, checks)
            self.reap_zombie(k)
            return k

        self.kill_loop(camp, count(5), duration, attempt)
        camp.finish()


if __name__ == "__main__":
    unittest.main()
