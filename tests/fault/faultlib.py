"""Shared machinery of the fault campaign (tests/fault/README.md).

Builds on tests/e2e/cairn_testlib.py (the same temporary git repositories and
helpers) and adds what a campaign needs: a size knob, one seed for all the
randomness (printed, so a failure can be replayed), a tally of injections
tried and failed per kind, printed as one summary line when the process ends,
and helpers to kill a command with SIGKILL after a delay.

Knobs (environment):
  CAIRN_SOAK=1          the long form (scale 7) instead of the short one
  CAIRN_FAULT_SCALE=X   any other scale (multiplies every count)
  CAIRN_FAULT_SEED=N    replay a run: the seed it printed
  CI=true               a missing binary or Python module fails instead of skipping
"""

import atexit
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from cairn_testlib import (CAIRN_BIN, ERROR, NEGATIVE, OK, REBUILD_WAIT, CairnTestCase,  # noqa: E402,F401
                           deterministic_bytes, parse_pointer, read_pack_index, sha256_bytes, sha256_file,
                           start_retrying)

MIB = 1 << 20

SOAK = os.environ.get("CAIRN_SOAK", "") not in ("", "0")
SCALE = float(os.environ.get("CAIRN_FAULT_SCALE") or (7 if SOAK else 1))
SEED = int(os.environ.get("CAIRN_FAULT_SEED") or random.SystemRandom().randrange(1, 1 << 31))
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")

PYTHONPATH = os.path.abspath(os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))

print("fault campaign: seed %d (replay with CAIRN_FAULT_SEED=%d), scale %g%s"
      % (SEED, SEED, SCALE, " (soak)" if SOAK else ""), flush=True)


def count(n):
    """n scaled by the size knob (at least 1)."""
    return max(1, int(round(n * SCALE)))


# ---- the tally ------------------------------------------------------------------------------

class Tally:
    def __init__(self, label, failed_word):
        self.label, self.failed_word = label, failed_word
        self.tried = 0
        self.failures = []  # descriptions

    def line(self):
        if self.label == "corruptions":
            undetected = sum(1 for f in self.failures if "undetected: " in f)
            line = "corruptions %d / %d undetected" % (self.tried, undetected)
            if len(self.failures) > undetected:  # found, but wrong bytes written or not named
                line += " / %d mishandled" % (len(self.failures) - undetected)
            return line
        return "%s %d tried / %d failed" % (self.label, self.tried, len(self.failures))


TALLIES = {"kills": Tally("kills", "failed"), "crash points": Tally("crash points", "failed"),
           "corruptions": Tally("corruptions", "undetected"), "rounds": Tally("rounds", "failed")}


def summary_line():
    parts = [t.line() for t in TALLIES.values() if t.tried]
    return "fault campaign: " + ("; ".join(parts) if parts else "nothing tried") + " (seed %d)" % SEED


@atexit.register
def _print_summary():
    sys.stdout.flush()
    for t in TALLIES.values():
        for f in t.failures:
            print("fault campaign: FAILED %s: %s" % (t.label.rstrip("s"), f.splitlines()[0][:300]))
    print(summary_line(), flush=True)


class Campaign:
    """The injections of one scenario: counts them, keeps going after a failure (up to
    `max_failures`), and fails the test at the end listing every failure."""

    def __init__(self, test, kind, scenario, max_failures=3):
        self.test, self.tally, self.scenario = test, TALLIES[kind], scenario
        self.max_failures = max_failures
        self.failures = []
        self.tried = 0
        self.started = time.monotonic()

    def run(self, label, fn):
        """Runs one injection fn(); True when its checks passed."""
        self.tally.tried += 1
        self.tried += 1
        try:
            fn()
            return True
        except AssertionError as e:
            desc = "%s [%s] (seed %d): %s" % (self.scenario, label, SEED, e)
            self.failures.append(desc)
            self.tally.failures.append(desc)
            print("\n  FAILED " + desc.splitlines()[0][:400], file=sys.stderr, flush=True)
            return False

    @property
    def give_up(self):
        return len(self.failures) >= self.max_failures

    def finish(self):
        print("\n  %s: %d tried, %d failed, %.1fs" % (self.scenario, self.tried, len(self.failures),
                                                   time.monotonic() - self.started), file=sys.stderr, flush=True)
        if self.failures:
            self.test.fail("%d failure(s) in %s:\n\n%s" % (len(self.failures), self.scenario,
                                                          "\n\n".join(self.failures)))


# ---- killing ------------------------------------------------------------------------------

class Killed:
    """What happened to a command started by FaultTestCase.kill_after."""

    def __init__(self, killed, elapsed, returncode, out, err):
        self.killed, self.elapsed, self.returncode, self.stdout, self.stderr = killed, elapsed, returncode, out, err

    def __repr__(self):
        return "<%s after %.3fs, exit %s>" % ("killed" if self.killed else "finished", self.elapsed, self.returncode)


def spread_delays(rng, n, duration):
    """n delays spread over [0, duration): one per equal slice, at a random point of it, shuffled."""
    out = [duration * (i + rng.random()) / n for i in range(n)]
    rng.shuffle(out)
    return out


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---- the base class -------------------------------------------------------------------------

class FaultTestCase(CairnTestCase):

    @classmethod
    def setUpClass(cls):
        deadline = time.monotonic() + REBUILD_WAIT
        while not os.access(CAIRN_BIN, os.X_OK) and time.monotonic() < deadline:
            time.sleep(1)
        if not os.access(CAIRN_BIN, os.X_OK):
            msg = "cairn binary not found at %s (set CAIRN_BIN)" % CAIRN_BIN
            if CI:
                raise RuntimeError(msg + "; CI=true: not skipping")
            raise unittest.SkipTest(msg)

    def setUp(self):
        super().setUp()
        self.rng = random.Random("%d:%s" % (SEED, self.id()))
        self.env["CAIRN_LOCK_TIMEOUT"] = "120"  # concurrent commands wait instead of failing

    def need_python_module(self):
        if not os.path.isfile(os.path.join(PYTHONPATH, "cairn", "__init__.py")):
            msg = "cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH
            if CI:
                self.fail(msg + "; CI=true: not skipping")
            self.skipTest(msg)
        return PYTHONPATH

    def python_env(self):
        return dict(self.env, PYTHONPATH=self.need_python_module(), PYTHONUNBUFFERED="1")

    # ---- processes ----------------------------------------------------------------------------

    def cairn(self, *args, cwd=None, env=None, timeout=300, input=None, preexec_fn=None):
        """As CairnTestCase.cairn, but output that is not UTF-8 (a damaged object's bytes echoed
        in a message) is decoded with replacement characters and flagged (r.not_utf8)."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        r = start_retrying(lambda: subprocess.run(
            [CAIRN_BIN] + [str(a) for a in args], cwd=cwd or self.repo, env=full_env, capture_output=True,
            timeout=timeout, input=None if input is None else input.encode(), preexec_fn=preexec_fn))
        r.not_utf8 = []
        for name in ("stdout", "stderr"):
            data = getattr(r, name)
            try:
                text = data.decode()
            except UnicodeDecodeError:
                text = data.decode(errors="replace")
                r.not_utf8.append(name)
            setattr(r, name, text)
        return r

    def spawn(self, argv, cwd=None, env=None):
        """Starts argv in its own process group, stdout/stderr to temp files; returns (Popen, files)."""
        out = tempfile.TemporaryFile(dir=self.tmp)
        err = tempfile.TemporaryFile(dir=self.tmp)
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        p = start_retrying(lambda: subprocess.Popen(argv, cwd=cwd or self.repo, env=full_env, stdout=out,
                                                    stderr=err, start_new_session=True))
        self.addCleanup(kill_group, p.pid)
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        return p, (out, err)

    def spawn_cairn(self, *args, cwd=None, env=None):
        return self.spawn([CAIRN_BIN] + [str(a) for a in args], cwd=cwd, env=env)

    @staticmethod
    def collect(p, files, timeout=300):
        p.wait(timeout=timeout)
        texts = []
        for f in files:
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
        return texts

    def kill_after(self, argv, delay, cwd=None, env=None, reap=True, ready=None):
        """Runs argv and SIGKILLs its whole process group `delay` seconds after it started
        (counted from when ready(text_so_far) first holds, if given). With reap=False the
        process is left a zombie (waited for with WNOWAIT): call reap_zombie(k) later."""
        p, files = self.spawn(argv, cwd=cwd, env=env)
        start = time.monotonic()
        if ready is not None:
            while p.poll() is None and time.monotonic() < start + 120:
                files[0].seek(0)
                if ready(files[0].read().decode(errors="replace")):
                    break
                time.sleep(0.002)
            start = time.monotonic()
        killed = False
        while True:
            if p.poll() is not None:
                break
            now = time.monotonic()
            if now >= start + delay:
                kill_group(p.pid)
                killed = True
                break
            time.sleep(min(0.002, start + delay - now))
        elapsed = time.monotonic() - start
        if not reap and killed:
            os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)  # dead, but still a zombie
            k = Killed(True, elapsed, -signal.SIGKILL, "", "")
            k.proc, k.files = p, files
            return k
        out, err = self.collect(p, files)
        killed = killed and p.returncode == -signal.SIGKILL
        return Killed(killed, elapsed, p.returncode, out, err)

    def reap_zombie(self, k):
        if getattr(k, "proc", None) is not None:
            k.stdout, k.stderr = self.collect(k.proc, k.files)
            k.proc = None

    def timed(self, argv, cwd=None, env=None):
        """Runs argv to completion; returns (seconds, returncode, stdout, stderr)."""
        p, files = self.spawn(argv, cwd=cwd, env=env)
        start = time.monotonic()
        out, err = self.collect(p, files)
        return time.monotonic() - start, p.returncode, out, err

    def check(self, what, *args, cwd=None, env=None, code=OK):
        """Runs cairn and asserts its exit code, naming `what` in the failure."""
        r = self.cairn(*args, cwd=cwd, env=env)
        if r.returncode != code:
            first = next((l for l in r.stderr.splitlines() if l.startswith("cairn: error")), r.stderr.strip()[:200])
            self.fail("%s: cairn %s exited %d (expected %d): %s\n%s" % (what, " ".join(map(str, args)), r.returncode,
                                                                       code, first, self.describe(r)))
        return r

    # ---- content --------------------------------------------------------------------------------

    def write_tree(self, rel, seed, files, big=0, big_name="big.bin", dirs=10, text_fraction=1.0):
        """A directory of `files` small files (in `dirs` subdirectories) and, with big > 0, one large
        file; every file's content depends on seed. Returns {path relative to rel: sha256 hex}."""
        root = self.path(rel)
        before = set(self.manifest(rel)) if os.path.isdir(root) else set()
        manifest = {}
        for i in range(files):
            sub = "d%02d" % (i % dirs)
            name = "%s/f%04d.txt" % (sub, i)
            data = ("%s seed %d file %d\n" % (rel, seed, i)).encode() * (1 + (i * 7919 + seed) % 40)
            p = os.path.join(root, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
            manifest[name] = sha256_bytes(data)
        if big:
            data = deterministic_bytes(big, seed=seed)
            with open(os.path.join(root, big_name), "wb") as f:
                f.write(data)
            manifest[big_name] = sha256_bytes(data)
        # Files are rewritten in place and only the extra ones removed: unlinking a file that
        # cairn made durable (syncfs) costs milliseconds here.
        for name in before - set(manifest):
            os.remove(os.path.join(root, name))
        return manifest

    def disturb(self, rel, manifest, sample=20):
        """Removes some of rel's files (its large ones among them) so that the next checkout
        must write them again; far cheaper than removing the whole directory."""
        root = self.path(rel)
        if os.path.isfile(root) or "" in manifest:
            if os.path.exists(root):
                os.remove(root)
            return
        names = sorted(manifest)
        big = [n for n in names if n.endswith(".bin")]
        for name in big + self.rng.sample(names, min(sample, len(names))):
            p = os.path.join(root, name)
            if os.path.exists(p):
                os.remove(p)

    def manifest(self, rel):
        """{relative path: sha256 hex} of every file below rel (or {"": sha} for a file)."""
        root = self.path(rel)
        if os.path.isfile(root):
            return {"": sha256_file(root)}
        out = {}
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = os.path.join(dirpath, n)
                out[os.path.relpath(p, root)] = sha256_file(p)
        return out

    def assert_manifest(self, rel, expected, what):
        got = self.manifest(rel)
        if got != expected:
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
            self.fail("%s: %s differs from the recorded version: %d missing %s, %d extra %s, %d with other bytes %s"
                      % (what, rel, len(missing), missing[:5], len(extra), extra[:5], len(wrong), wrong[:5]))

    def workspace_strays(self, allowed):
        """Files in the workspace (outside .git and .cairn) that are neither below an allowed
        prefix nor a pointer/.gitignore/known file: leftovers such as checkout temp files."""
        out = []
        for dirpath, dirnames, names in os.walk(self.repo):
            rel_dir = os.path.relpath(dirpath, self.repo)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d not in (".git", ".cairn")]
            for n in names:
                rel = os.path.normpath(os.path.join(rel_dir, n))
                if n == ".gitignore" or rel.endswith(".cairn"):
                    continue
                if not any(rel == a or rel.startswith(a.rstrip("/") + "/") for a in allowed):
                    out.append(rel)
        return sorted(out)

    # ---- checks ---------------------------------------------------------------------------------

    def assert_fsck(self, what):
        r = self.cairn("fsck")
        if r.returncode != OK:
            first = (r.stdout.strip() or r.stderr.strip()).splitlines()[0][:300] if (r.stdout + r.stderr).strip() else ""
            self.fail("%s: cairn fsck exited %d: %s\n%s" % (what, r.returncode, first, self.describe(r)))

    def assert_no_stray_added(self, what, expected_files):
        """`cairn status -v` lists no added file that is not one of ours (temp files left by a
        killed command). expected_files: {dataset path: set of relative file names}."""
        r = self.check(what, "status", "-v", "--json")
        for st in json.loads(r.stdout):
            names = expected_files.get(st["path"])
            for change in st.get("changes") or []:
                name = change.get("path")
                if change.get("change") != "added":
                    continue
                if names is None or name not in names:
                    self.fail("%s: cairn status lists a stray file as added in %s: %s\n%s"
                              % (what, st["path"], name, r.stdout[:2000]))

    def pointers(self):
        """Every pointer file in the workspace: {tracked path: fields}."""
        out = {}
        for dirpath, dirnames, names in os.walk(self.repo):
            if os.path.relpath(dirpath, self.repo) == ".":
                dirnames[:] = [d for d in dirnames if d not in (".git", ".cairn")]
            for n in names:
                if n.endswith(".cairn"):
                    p = os.path.join(dirpath, n)
                    with open(p) as f:
                        out[os.path.relpath(p, self.repo)[:-len(".cairn")]] = parse_pointer(f.read())
        return out

    def assert_pointers_in_cache(self, what):
        """Every pointer names a version, tree and blobs that are in the cache."""
        packed = set(self.pack_entries())
        for path, fields in self.pointers().items():
            for key in ("version", "object"):
                oid = fields.get(key, "")
                self.assertTrue(self.has_loose(oid), "%s: the pointer %s.cairn names %s %s, not in the cache"
                                % (what, path, key, oid))
            r = self.check(what, "ls", "-l", "--json", path)
            for entry in json.loads(r.stdout):
                oid = entry["oid"]
                self.assertTrue(self.has_loose(oid) or oid.split(":")[-1] in packed,
                                "%s: %s/%s (%s) is not in the cache" % (what, path, entry.get("path"), oid))
