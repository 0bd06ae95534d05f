"""Run liveness from Python (doc/tracking.md, "Liveness"): a run the Python
module starts, creates or resumes holds a heartbeat for as long as it is
active there, so it is never reaped while its process lives, even when the
liveness check can only go by the heartbeat (an owner on another host); and
a run whose Python process died is ended FAILED with its data kept.

The scripts shorten the beat interval (cairn.session._heartbeat_interval_ms)
so that a refresh is seen in a fraction of a second; "another host" is made
by rewriting the run's host in .cairn/state.db, as a shared store would show
a run of another machine.
"""

import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
import unittest

from cairn_testlib import OID_RE
from test_python_api import PYTHON, PythonApiTestCase

BEAT_MS = 100
STALE_MS = 20 * 60 * 1000  # older than the 10-minute heartbeat timeout


class PythonLiveness(PythonApiTestCase):

    def start_script(self, body):
        """Starts a script that beats every BEAT_MS and waits for the file 'stop'; returns (process, RESULT)."""
        self.stop_file = os.path.join(self.tmp, "stop")
        body = textwrap.dedent(body).replace("WAIT", "while not os.path.exists(%r): time.sleep(0.02)" % self.stop_file)
        path = self.script("cairn.session._heartbeat_interval_ms = %d\n" % BEAT_MS + body)
        proc = subprocess.Popen([PYTHON, path], cwd=self.repo, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, proc)
        line = proc.stdout.readline()
        if not line.startswith("RESULT "):
            proc.kill()
            _, err = proc.communicate(timeout=30)
            self.fail("the script printed no RESULT line: %r\n%s" % (line, err))
        return proc, json.loads(line[len("RESULT "):])

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # also closes its pipes

    def finish(self, proc):
        open(self.stop_file, "w").close()
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        return err

    def heartbeats(self, run_id, n=3):
        """The heartbeat `runs show --json` reports, n times, 3 beats apart."""
        seen = []
        for _ in range(n):
            run = self.show(run_id)
            self.assertEqual(run["status"], "RUNNING")
            seen.append(run["heartbeat"])
            time.sleep(3 * BEAT_MS / 1000)
        return run, seen

    def state_db(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.repo, ".cairn", "state.db"), timeout=30)
        try:
            with db:
                db.execute(sql, args)
        finally:
            db.close()

    def test_a_started_run_beats_until_it_ends(self):
        proc, res = self.start_script("""
            run = cairn.start_run(name="alive")
            out({"id": run.id})
            WAIT
            cairn.end_run()
        """)
        run, seen = self.heartbeats(res["id"])
        self.assertTrue(all(isinstance(h, int) for h in seen), seen)
        self.assertGreaterEqual(seen[0], run["start_time"], "the start counts as the first beat")
        self.assertLess(seen[0], seen[1], "the heartbeat is refreshed while the run is active")
        self.assertLess(seen[1], seen[2])
        self.assertEqual(self.finish(proc), "")
        ended = self.show(res["id"])
        self.assertEqual(ended["status"], "FINISHED")
        self.assertIsNone(ended["heartbeat"])

    def test_a_forked_child_keeps_its_own_runs_alive(self):
        # The parent's runs made its heartbeat thread; a child forked after
        # has none of its threads and must beat its own runs itself.
        proc, res = self.start_script("""
            with cairn.start_run(name="parent"):
                pass
            pid = os.fork()
            if pid == 0:
                run = cairn.start_run(name="child")
                out({"id": run.id})
                WAIT
                cairn.end_run()
                sys.stdout.flush()
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
        """)
        _, seen = self.heartbeats(res["id"])
        self.assertLess(seen[0], seen[1], "the child's run is beaten while the child lives")
        self.assertLess(seen[1], seen[2])
        self.assertEqual(self.finish(proc), "")
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")

    def test_a_forked_child_leaves_its_parents_run_alone(self):
        # A child that exits normally (never calling cairn, or after a run of its own) neither
        # ends the parent's run nor dies by a signal; the parent logs on and ends it.
        r = self.py("""
            import cairn
            parent = cairn.start_run(name="parent")
            cairn.log_metric("p", 1, step=1)
            codes = []
            for body in ("quiet", "own"):
                pid = os.fork()
                if pid == 0:
                    if body == "own":
                        with cairn.start_run(name="child", nested=True):
                            cairn.log_metric("c", 2, step=1)
                    sys.exit(0)
                codes.append(os.waitpid(pid, 0)[1])
            cairn.log_metric("p", 3, step=2)
            cairn.end_run()
            out({"codes": codes, "parent": parent.id})
        """)
        res = self.result(r)
        self.assertEqual(res["codes"], [0, 0], "each child exits 0, not by a signal")
        run = self.show(res["parent"])
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual(run["metrics"]["p"]["value"], 3, "the parent logged after its children exited")
        child = self.json("runs", "--where", "attributes.run_name = 'child'")
        self.assertEqual([c["status"] for c in child], ["FINISHED"])

    def test_a_fork_while_metrics_are_flushed_does_not_hang_the_child(self):
        # The parent's background writer may hold the tracker's lock at the fork: a child that
        # used the parent's session would wait for it forever.
        r = self.py("""
            import cairn
            cairn.start_run(name="busy")
            hung = 0
            for i in range(20):
                for j in range(2000):
                    cairn.log_metric("m", j, step=i * 2000 + j)
                pid = os.fork()
                if pid == 0:
                    with cairn.start_run(name="kid%d" % i, nested=True):
                        cairn.log_metric("k", i, step=1)
                    os._exit(0)
                deadline = time.time() + 20
                while True:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        break
                    if time.time() > deadline:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        hung += 1
                        break
                    time.sleep(0.01)
            cairn.end_run()
            out({"hung": hung})
        """, timeout=600)
        self.assertEqual(self.result(r)["hung"], 0)
        kids = self.json("runs", "--where", "attributes.run_name LIKE 'kid%'", "--limit", "100")
        self.assertEqual(sorted(k["status"] for k in kids), ["FINISHED"] * 20)

    def test_client_created_run_beats_until_set_terminated(self):
        proc, res = self.start_script("""
            client = cairn.MlflowClient()
            run = client.create_run("0", run_name="made")
            out({"id": run.info.run_id})
            WAIT
            client.set_terminated(run.info.run_id, "FINISHED")
            out({"after": client.get_run(run.info.run_id).to_dictionary()["info"]["status"]})
        """)
        _, seen = self.heartbeats(res["id"])
        self.assertLess(seen[0], seen[-1])
        self.finish(proc)
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")

    def test_run_of_another_host_is_kept_while_its_process_lives_and_reaped_when_it_dies(self):
        proc, res = self.start_script("""
            run = cairn.start_run(name="remote")
            cairn.log_metric("loss", 0.5, step=1)
            cairn.flush()
            out({"id": run.id, "pid": os.getpid()})
            WAIT
        """)
        # As a shared store shows a run of another machine: only its heartbeat
        # tells whether it lives. Its last sign of life is made 20 minutes old.
        old = int(time.time() * 1000) - STALE_MS
        self.state_db("UPDATE runs SET host = 'elsewhere.example', start_time = ?, heartbeat = ? WHERE run_id = ?",
                      old, old, res["id"])
        time.sleep(3 * BEAT_MS / 1000)  # a few beats
        listed = {r["id"]: r for r in self.runs()}  # 'cairn runs' reaps dead runs first
        self.assertEqual(listed[res["id"]]["status"], "RUNNING",
                         "a live Python process's heartbeat must keep its run from being reaped")
        # The process dies: no more beats. Time passes (the heartbeat is made stale again).
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        self.state_db("UPDATE runs SET heartbeat = ? WHERE run_id = ?", old, res["id"])
        listed = {r["id"]: r for r in self.runs()}
        self.assertEqual(listed[res["id"]]["status"], "FAILED")
        run = self.show(res["id"])
        self.assertIn("no heartbeat", run["tags"].get("cairn.end_reason", ""))
        self.assertIn("elsewhere.example", run["tags"]["cairn.end_reason"])
        self.assertEqual(run["metrics"]["loss"]["value"], 0.5, "the data logged before the death is kept")
        self.assertRegex(run["record"], OID_RE)

    def test_killed_python_process_run_is_ended_failed(self):
        proc, res = self.start_script("""
            run = cairn.start_run(name="doomed", params={"lr": 0.1})
            for i in range(10):
                cairn.log_metric("m", float(i), step=i)
            cairn.flush()
            out({"id": run.id, "pid": os.getpid()})
            WAIT
        """)
        self.assertEqual(self.show(res["id"])["status"], "RUNNING")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # On this host a dead pid is decided at once: no waiting for the heartbeat timeout.
        run = self.show(res["id"])
        self.assertEqual(run["status"], "FAILED")
        self.assertIn("process %d ended without ending the run" % res["pid"], run["tags"]["cairn.end_reason"])
        self.assertEqual(run["params"], {"lr": "0.1"})
        self.assertEqual(run["metrics"]["m"]["step"], 9)
        self.assertIsNone(run["heartbeat"])


if __name__ == "__main__":
    unittest.main()
