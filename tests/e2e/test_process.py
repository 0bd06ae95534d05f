"""Process supervision of `cairn run` and `cairn repro` (include/cairn/process.h): a cairn
process killed with SIGKILL leaves no child or grandchild of its command still writing.

Each test starts a command whose background grandchild appends to grow.txt in a loop, with
its stdout/stderr sent to /dev/null (so a closed pipe cannot be what stops it), kills the
cairn process with SIGKILL, and asserts that the grandchild and the command are gone and
that grow.txt stops growing. One grandchild ignores SIGTERM, so only the supervisor's
SIGKILL after the grace period ends it.

NothingOfARunOutlivesIt covers the rest of the tree: processes in a session of their own
(setsid), and the ways a run ends besides SIGKILL (SIGTERM to cairn, the command exiting while
it left processes running, a repro stage doing so while another stage still runs). Every
process of a run carries a marker in its environment, so /proc shows what is left of it.
"""

import os
import re
import signal
import time
import unittest
import uuid

from cairn_testlib import OK, CairnTestCase, wait_for

# The grandchild: a loop appending to grow.txt; `trap` makes it ignore SIGTERM when asked.
GRANDCHILD = ("( {trap} while :; do echo x >> grow.txt; sleep 0.05; done ) </dev/null >/dev/null 2>&1 & "
              "echo $! > grand.pid; echo $$ > leader.pid; wait")


def alive(pid):
    """True while `pid` exists and is not a zombie (PID 1 of a container may not reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def marked(marker):
    """Pids of the live processes whose environment holds `marker` (every process a run started
    inherits it, whichever group or session it moved to)."""
    found = []
    needle = marker.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env.split(b"\0") and alive(int(name)):
            found.append(int(name))
    return found


class KilledCairnLeavesNothingRunning(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.pids = []
        self.addCleanup(self._kill_leftovers)

    def _kill_leftovers(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def read_pid(self, name):
        pid = int(self.read(name).decode().strip())
        self.pids.append(pid)
        return pid

    def kill_and_check(self, p):
        wait_for(lambda: (os.path.exists(self.path("grand.pid")) and os.path.exists(self.path("leader.pid"))
                          and os.path.exists(self.path("grow.txt"))) or p.poll() is not None,
                 what="the command and its grandchild to start")
        if p.poll() is not None:
            self.fail("cairn ended before it could be killed: %s" % (p.communicate(),))
        grand, leader = self.read_pid("grand.pid"), self.read_pid("leader.pid")
        self.assertTrue(alive(grand) and alive(leader))
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, -signal.SIGKILL)
        wait_for(lambda: not alive(grand) and not alive(leader), timeout=10,
                 what="the command (pid %d) and its grandchild (pid %d) to end after cairn was killed"
                      % (leader, grand))
        size = os.path.getsize(self.path("grow.txt"))
        time.sleep(0.5)
        self.assertEqual(os.path.getsize(self.path("grow.txt")), size, "grow.txt still grows")

    def test_kill_9_cairn_run(self):
        p = self.popen("run", "--", "sh", "-c", GRANDCHILD.format(trap=""))
        self.kill_and_check(p)

    def test_kill_9_cairn_run_with_a_grandchild_ignoring_sigterm(self):
        p = self.popen("run", "--", "sh", "-c", GRANDCHILD.format(trap="trap '' TERM;"))
        self.kill_and_check(p)

    def test_kill_9_cairn_repro(self):
        self.write("cairn.yaml", "stages:\n  grow:\n    cmd: \"%s\"\n    outs: [out.txt]\n"
                   % GRANDCHILD.format(trap="").replace('"', '\\"'))
        p = self.popen("repro", "-q")
        self.kill_and_check(p)

    def test_kill_9_cairn_repro_with_two_stages_at_once(self):
        stage = GRANDCHILD.format(trap="").replace("grow.txt", "{d}/grow.txt").replace(
            "grand.pid", "{d}/grand.pid").replace("leader.pid", "{d}/leader.pid")
        os.mkdir(self.path("a"))
        os.mkdir(self.path("b"))
        self.write("cairn.yaml", "stages:\n" + "".join(
            "  %s:\n    cmd: \"%s\"\n    outs: [%s/out.txt]\n" % (d, stage.format(d=d).replace('"', '\\"'), d)
            for d in ("a", "b")))
        p = self.popen("repro", "-q", "-j", "2")
        paths = ["%s/%s" % (d, f) for d in ("a", "b") for f in ("grand.pid", "leader.pid", "grow.txt")]
        wait_for(lambda: all(os.path.exists(self.path(x)) for x in paths) or p.poll() is not None,
                 what="both stages to start")
        self.assertIsNone(p.poll(), "repro ended before it could be killed")
        pids = [self.read_pid("%s/%s" % (d, f)) for d in ("a", "b") for f in ("grand.pid", "leader.pid")]
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        wait_for(lambda: not any(alive(x) for x in pids), timeout=10, what="every stage process to end")

    def test_run_still_passes_signals_and_exit_codes(self):
        r = self.cairn("run", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
        self.assertEqual(r.returncode, 7, self.describe(r))
        self.assertIn("out\n", r.stdout)
        self.assertIn("err\n", r.stderr)
        p = self.popen("run", "--", "sh", "-c", "echo $$ > leader.pid; sleep 30")
        wait_for(lambda: os.path.exists(self.path("leader.pid")), what="the command to start")
        leader = self.read_pid("leader.pid")
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assertIn("KILLED", err)
        self.assertFalse(alive(leader))

    def test_an_interactive_command_can_read_the_terminal(self):
        # cairn on a terminal it controls: the command, in its own process group, must get the
        # terminal (or reading it would stop the command with SIGTTIN).
        import fcntl
        import pty
        import subprocess
        import termios
        from cairn_testlib import CAIRN_BIN
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)

        def controlling_terminal():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        p = subprocess.Popen([CAIRN_BIN, "run", "--", "sh", "-c", "read x; echo got-$x > answer.txt"],
                             cwd=self.repo, env=self.env, stdin=slave, stdout=slave, stderr=slave,
                             preexec_fn=controlling_terminal)
        os.close(slave)
        self.pids.append(p.pid)
        time.sleep(0.5)
        os.write(master, b"hello\n")
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("the command could not read the terminal (stopped in a background group?)")
        self.assertEqual(p.returncode, OK)
        self.assertEqual(self.read("answer.txt"), b"got-hello\n")

    def test_missing_command_is_a_clear_error(self):
        r = self.cairn("run", "--", "no-such-command-xyz")
        self.assertNotEqual(r.returncode, OK)
        self.assertIn("command not found: no-such-command-xyz", r.stderr)


# The adversarial command: a group member that ignores SIGTERM appends to g.out, a process in a
# session of its own (setsid) to s.out, and the command itself to c.out.
TREE = """#!/bin/sh
( trap '' TERM; while :; do echo g >> g.out; sleep 0.05; done ) </dev/null >/dev/null 2>&1 &
setsid sh -c 'while :; do echo s >> s.out; sleep 0.05; done' </dev/null >/dev/null 2>&1 &
while :; do echo c >> c.out; sleep 0.05; done
"""
STARTED_RE = re.compile(r"cairn: run ([0-9a-f]{32}) started")
STRAYS_RE = re.compile(r"cairn: warning: the command left (\d+) process(es)? running")


class NothingOfARunOutlivesIt(CairnTestCase):
    """Whatever way a run ends, no process of its tree (in its group, in another session,
    ignoring SIGTERM) is left writing once cairn is gone."""

    def setUp(self):
        super().setUp()
        self.marker = "CAIRN_E2E_MARKER=" + uuid.uuid4().hex
        self.env["CAIRN_E2E_MARKER"] = self.marker.split("=", 1)[1]
        self.addCleanup(self._kill_marked)

    def _kill_marked(self):
        for pid in marked(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def sizes(self, *names):
        return [os.path.getsize(self.path(n)) if os.path.exists(self.path(n)) else -1 for n in names]

    def assert_nothing_left(self, *outputs, timeout=0.0):
        if timeout:
            wait_for(lambda: not marked(self.marker), timeout=timeout,
                     what="the run's processes to end: %s" % marked(self.marker))
        self.assertEqual(marked(self.marker), [], "processes of the run are still running")
        before = self.sizes(*outputs)
        time.sleep(0.3)
        self.assertEqual(self.sizes(*outputs), before, "%s still grow" % (outputs,))

    def start_tree(self):
        self.write("w.sh", TREE, mode=0o755)
        p = self.popen("run", "--", "./w.sh")
        wait_for(lambda: all(s > 0 for s in self.sizes("g.out", "s.out", "c.out")) or p.poll() is not None,
                 what="the three writers to start")
        self.assertIsNone(p.poll(), "cairn ended before it could be signalled")
        return p

    def status(self, out_err):
        m = STARTED_RE.search(out_err)
        self.assertTrue(m, out_err)
        return self.json("runs", "show", m.group(1))

    def test_kill_9_cairn_stops_the_whole_tree(self):
        p = self.start_tree()
        os.kill(p.pid, signal.SIGKILL)
        _, err = p.communicate(timeout=30)
        # The supervisor gives SIGTERM, a second of grace, then SIGKILL.
        self.assert_nothing_left("g.out", "s.out", "c.out", timeout=10)
        self.assertEqual(self.status(err)["status"], "FAILED")

    def test_sigterm_to_cairn_stops_the_whole_tree_before_cairn_ends(self):
        p = self.start_tree()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assert_nothing_left("g.out", "s.out", "c.out")
        self.assertIn("KILLED", err)
        m = STRAYS_RE.search(err)
        self.assertTrue(m, err)
        self.assertGreaterEqual(int(m.group(1)), 2, err)  # the TERM-ignoring loop and the setsid one
        self.assertIn("SIGKILL", m.string[m.start():].splitlines()[0])  # the one ignoring SIGTERM
        run = self.status(err)
        self.assertEqual(run["status"], "KILLED")

    def test_a_run_ends_after_what_its_command_left_running(self):
        r = self.cairn("run", "-n", "bg", "--", "bash", "-c",
                       "(for i in $(seq 1 30); do echo $i >> late.out; sleep 0.1; done) & echo started")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assert_nothing_left("late.out")
        written = self.read("late.out").split() if os.path.exists(self.path("late.out")) else []
        self.assertLess(len(written), 30, "the background loop ran to its end")
        self.assertRegex(r.stderr, STRAYS_RE)
        self.assertIn("FINISHED", r.stderr)
        run = self.status(r.stderr)
        self.assertEqual(run["status"], "FINISHED")
        self.assertGreaterEqual(int(run["tags"]["cairn.stray_processes"]), 1)
        # The provenance keeps the warning with the command's stderr.
        log = self.cairn("artifacts", "get", STARTED_RE.search(r.stderr).group(1), "cairn/stderr.log", "-o", "-")
        self.assertEqual(log.returncode, OK, self.describe(log))
        self.assertRegex(log.stdout, STRAYS_RE)

    def test_a_command_that_leaves_nothing_gets_no_warning(self):
        r = self.cairn("run", "--", "sh", "-c", "sleep 0.1 & wait; echo done")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertNotIn("left", r.stderr)
        self.assertNotIn("cairn.stray_processes", self.status(r.stderr)["tags"])

    def test_repro_seals_a_stage_after_what_it_left_running(self):
        self.write("cairn.yaml", "stages:\n  bg:\n    cmd: \"%s\"\n    outs: [out.txt]\n"
                   % "(while :; do echo x >> late.out; sleep 0.05; done) & echo done > out.txt")
        r = self.cairn("repro")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assert_nothing_left("late.out")
        self.assertRegex(r.stdout + r.stderr, STRAYS_RE)

    def test_repro_stops_a_stages_leftovers_without_touching_a_running_stage(self):
        # Stage a ends at once, leaving a writer; stage b runs on until the test releases it.
        # a's writer must be stopped while b's processes keep running.
        os.mkdir(self.path("a"))
        os.mkdir(self.path("b"))
        a = "(while :; do echo x >> a/late.out; sleep 0.05; done) & echo $! > a/stray.pid; echo > a/out.txt"
        b = ("(while :; do echo x >> b/grow.out; sleep 0.05; done) & echo $! > b/loop.pid; "
             "while [ ! -e release ]; do sleep 0.05; done; kill $!; echo > b/out.txt")
        self.write("cairn.yaml", "stages:\n" + "".join(
            "  %s:\n    cmd: \"%s\"\n    outs: [%s/out.txt]\n" % (d, cmd, d) for d, cmd in (("a", a), ("b", b))))
        p = self.popen("repro", "-j", "2")
        wait_for(lambda: all(os.path.exists(self.path(x)) for x in ("a/stray.pid", "b/loop.pid", "a/out.txt"))
                 or p.poll() is not None, what="both stages to start")
        self.assertIsNone(p.poll(), "repro ended before stage b was released")
        stray = int(self.read("a/stray.pid"))
        loop = int(self.read("b/loop.pid"))
        wait_for(lambda: not alive(stray) or p.poll() is not None, timeout=10, what="stage a's leftover to end")
        self.assertTrue(alive(loop), "stage b's process was stopped while b ran")
        before = self.sizes("b/grow.out")
        wait_for(lambda: self.sizes("b/grow.out") != before, what="stage b to keep writing")
        self.write("release", "")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, OK, out + err)
        self.assert_nothing_left("a/late.out", "b/grow.out")


if __name__ == "__main__":
    unittest.main()
