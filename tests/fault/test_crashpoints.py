"""Crash points: the kill -9 scenarios of test_kill.py (add of a new dataset, add of a changed
version, push, gc --apply, checkout), with every kill landing exactly before the Nth rename
(or, for gc, unlink) of the command, N spread over the count a full run makes.

crashshim.c, LD_PRELOADed into cairn, delivers the SIGKILL. Timed kills find windows by
chance; these find each one between two steps of a command every time, so a failure here
replays exactly (CAIRN_FAULT_SEED picks the same points). Same checks after every kill as
test_kill.py; smaller data, since the point is where the kill lands, not when.
"""

import os
import signal
import subprocess
import tempfile
import unittest

import test_kill
from faultlib import CAIRN_BIN, CI, HERE, MIB, FaultTestCase, Killed, count, spread_delays


class CrashPoints(test_kill.KillCampaign):

    KIND = "crash points"
    SMALL_FILES = 100
    BIG = MIB
    OPS = {"test_add_new_dataset": "rename", "test_add_changed_version": "rename", "test_push": "rename",
           "test_gc_apply": "unlink", "test_checkout": "rename"}
    test_repro = None          # a pipeline's stage commands would count calls too
    test_python_logger = None  # not cairn's binary

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim_dir = tempfile.mkdtemp(prefix="cairn-crashshim-")
        cls.shim = os.path.join(cls.shim_dir, "crashshim.so")
        cc = os.environ.get("CC") or "cc"
        try:
            subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", cls.shim, os.path.join(HERE, "crashshim.c"), "-ldl"],
                           check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            msg = "cannot build crashshim.so with %s: %s" % (cc, getattr(e, "stderr", e))
            if CI:
                raise RuntimeError(msg + "; CI=true: not skipping")
            raise unittest.SkipTest(msg)

    @classmethod
    def tearDownClass(cls):
        for n in os.listdir(cls.shim_dir):
            os.remove(os.path.join(cls.shim_dir, n))
        os.rmdir(cls.shim_dir)

    def campaign(self, scenario, **kw):
        return super().campaign(scenario.replace("kill -9 during", "crash point in"), **kw)

    def kill_points(self, n, duration):
        """Every call when there are few (up to 12 at scale 1), else that many spread over them."""
        calls = int(duration)
        if calls <= max(n, count(12)):
            points = [float(k) for k in range(calls)]
            self.rng.shuffle(points)
            return points
        return spread_delays(self.rng, max(n, count(12)), calls)

    def point_label(self, i, n, delay, duration):
        return "#%d of %d, kill before %s #%d of %d" % (i + 1, n, self.OPS[self._testMethodName], int(delay) + 1,
                                                       int(duration))

    def shim_env(self, env, at):
        full = dict(env or {})
        full.update(LD_PRELOAD=self.shim, CAIRN_CRASH_ON=self.OPS[self._testMethodName], CAIRN_CRASH_AT=str(at),
                    CAIRN_CRASH_COUNT=os.path.join(self.tmp, "crash-count"))
        return full

    def calls_made(self):
        try:
            with open(os.path.join(self.tmp, "crash-count")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def timed(self, argv, cwd=None, env=None):
        """For cairn: runs it counting the calls; returns (calls, returncode, stdout, stderr)."""
        if argv[0] != CAIRN_BIN:
            return super().timed(argv, cwd=cwd, env=env)
        _, rc, out, err = FaultTestCase.timed(self, argv, cwd=cwd, env=self.shim_env(env, 0))
        return self.calls_made(), rc, out, err

    def kill_after(self, argv, delay, cwd=None, env=None, reap=True, ready=None):
        """For cairn: `delay` picks the call to die before (int(delay) + 1)."""
        if argv[0] != CAIRN_BIN:
            return super().kill_after(argv, delay, cwd=cwd, env=env, reap=reap, ready=ready)
        at = int(delay) + 1
        _, rc, out, err = FaultTestCase.timed(self, argv, cwd=cwd, env=self.shim_env(env, at))
        killed = rc == -signal.SIGKILL
        return Killed(killed, at if killed else self.calls_made(), rc, out, err)


if __name__ == "__main__":
    unittest.main()
