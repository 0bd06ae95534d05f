"""Process supervision of `cairn run` and `cairn repro` (include/cairn/process.h): a cairn
process killed with SIGKILL leaves no child or grandchild of its command still writing.

Each test starts a command whose background grandchild appends to grow.txt in a loop, with
its stdout/stderr sent to /dev/null (so a closed pipe cannot be what stops it), kills the
cairn process with SIGKILL, and asserts that the grandchild and the command are gone and
that grow.txt stops growing. One grandchild ignores SIGTERM, so only the supervisor's
SIGKILL after the grace period ends it.
"""

import os
import signal
import time
import unittest

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


if __name__ == "__main__":
    unittest.main()
