"""Experiment tracking: cairn run, runs (list/search/show/compare/log/history/delete/restore),
experiments, artifacts and reindex, driven end to end through the CLI.

Every test gets its own git repository (see cairn_testlib). Commands run inside a tracked run
find `cairn` on PATH (the directory of $CAIRN_BIN is put first).
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import unittest

from cairn_testlib import CAIRN_BIN, ERROR, NEGATIVE, OK, CairnTestCase, OID_RE, sha256_bytes, start_retrying

RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
STARTED_RE = re.compile(r"cairn: run ([0-9a-f]{32}) started \(experiment ([^)]*)\)")
UNKNOWN_RUN_HINT = "list runs with 'cairn runs'"


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def kill_pid(pid):
    """SIGKILL one process we started (directly or as a run's child); gone already is fine."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class TrackingTestCase(CairnTestCase):
    """A repository with one commit; `cairn` on PATH for the commands cairn runs."""

    def setUp(self):
        super().setUp()
        self.env["PATH"] = os.path.dirname(CAIRN_BIN) + os.pathsep + self.env.get("PATH", "")
        self.write("README", "hello\n")
        self.head = self.commit(message="initial")

    def spawn(self, *args, env=None):
        """Popen of cairn in its own session (so signals reach only what we aim at); killed at cleanup
        if still alive."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        p = start_retrying(lambda: subprocess.Popen(
            [CAIRN_BIN] + [str(a) for a in args], cwd=self.repo, env=full_env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True))

        def reap():
            if p.returncode is None:
                kill_pid(p.pid)
                p.communicate(timeout=30)
        self.addCleanup(reap)
        return p

    # ---- run helpers ---------------------------------------------------------

    def run_cmd(self, *args, code=OK, **kw):
        """`cairn run ARGS`; asserts the exit code; returns (result, run id)."""
        r = self.cairn("run", *args, **kw)
        self.assertEqual(r.returncode, code, "cairn run %s\n%s" % (" ".join(map(str, args)), self.describe(r)))
        m = STARTED_RE.search(r.stderr)
        self.assertTrue(m, "no 'started' line:\n" + self.describe(r))
        return r, m.group(1)

    def script(self, text):
        """A shell script outside the repository; returns its path."""
        d = os.path.join(self.tmp, "scripts")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "s%d.sh" % len(os.listdir(d)))
        with open(p, "w") as f:
            f.write(text + "\n")
        return p

    def new_run(self, *opts, script="true", code=OK, **kw):
        """A run of `sh FILE` holding SCRIPT (options before '--'); returns the run id.

        (`sh FILE` rather than `sh -c SCRIPT`: see test_command_dash_args_after_multi_value_option.)"""
        return self.run_cmd(*opts, "--", "sh", self.script(script), code=code, **kw)[1]

    def show(self, run):
        return self.json("runs", "show", run)

    def runs(self, *args):
        return self.json("runs", *args)

    def names(self, where=None, *extra):
        args = (["--where", where] if where is not None else []) + list(extra)
        return sorted(r["name"] for r in self.runs(*args))

    def ordered_names(self, *args):
        return [r["name"] for r in self.runs(*args)]

    def history(self, run, key):
        return self.json("runs", "history", run, key)

    def artifact_bytes(self, run, path):
        r = self.cairn("artifacts", "get", run, path, "-o", "-")
        self.assertEqual(r.returncode, OK, self.describe(r))
        return r.stdout

    def run_ref(self, run_id):
        return os.path.join(self.cairn_dir, "refs", "runs", run_id)

    def make_dataset(self, rel="data/iris", tag="v1"):
        self.copy_example("iris.csv", rel + "/iris.csv")
        version = self.add1(rel)["version"]
        if tag:
            self.ok("tag", rel, tag)
        return version


# ---------------------------------------------------------------------------------------------
class RunCommand(TrackingTestCase):

    def test_finished_run_records_everything(self):
        self.write("train.sh",
                   "echo out-line\n"
                   "echo err-line >&2\n"
                   "echo \"$CAIRN_RUN_ID|$CAIRN_TRACKING_URI|$CAIRN_DIR\" > env.txt\n"
                   "cairn runs log --metric acc=0.9@3 --metric acc=0.95@4 --param k=5 --tag stage=train > /dev/null\n")
        self.commit(message="train.sh")  # the code that runs is committed: a clean run
        self.head = self.git("rev-parse", "HEAD").stdout.strip()
        r, rid = self.run_cmd("-p", "lr=0.1", "-t", "team=ml", "-e", "iris", "-n", "knn-5", "--", "sh", "train.sh")
        self.assertTrue(RUN_ID_RE.match(rid))
        # stdout streams through untouched; cairn's own lines go to stderr.
        self.assertEqual(r.stdout, "out-line\n")
        self.assertIn("err-line\n", r.stderr)
        self.assertIn("cairn: run %s started (experiment iris)" % rid, r.stderr)
        self.assertRegex(r.stderr, r"cairn: run %s FINISHED in \S+ \(exit 0\)" % rid)

        # The child's environment.
        env_id, uri, cdir = self.read("env.txt").decode().strip().split("|")
        self.assertEqual(env_id, rid)
        self.assertTrue(uri, "CAIRN_TRACKING_URI is empty")
        self.assertEqual(os.path.realpath(cdir), os.path.realpath(self.repo))  # the repository root

        d = self.show(rid)
        self.assertEqual(d["id"], rid)
        self.assertEqual(d["name"], "knn-5")
        self.assertEqual(d["experiment"], "iris")
        self.assertEqual(d["status"], "FINISHED")
        self.assertEqual(d["exit_code"], 0)
        self.assertFalse(d["deleted"])
        self.assertEqual(d["params"], {"lr": "0.1", "k": "5"})
        self.assertEqual(d["tags"], {"team": "ml", "stage": "train"})
        self.assertEqual(set(d["metrics"]), {"acc"})
        self.assertEqual((d["metrics"]["acc"]["value"], d["metrics"]["acc"]["step"]), (0.95, 4))
        self.assertIsInstance(d["metrics"]["acc"]["timestamp"], int)
        self.assertEqual(d["command"], "sh train.sh")
        self.assertEqual(d["cwd"], ".")
        self.assertIsInstance(d["user"], str)
        self.assertTrue(d["user"])
        self.assertIsInstance(d["start_time"], int)
        self.assertIsInstance(d["end_time"], int)
        self.assertLessEqual(d["start_time"], d["end_time"])
        self.assertLessEqual(d["metrics"]["acc"]["timestamp"], d["end_time"])
        self.assertEqual(d["inputs"], [])

        # stdout/stderr stored as artifacts with the exact bytes.
        arts = {a["path"]: a for a in d["artifacts"]}
        self.assertIn("cairn/stdout.log", arts)
        self.assertIn("cairn/stderr.log", arts)
        self.assertNotIn("cairn/git.diff", arts)  # clean work tree (env.txt is written after the start)
        self.assertEqual(self.artifact_bytes(rid, "cairn/stdout.log"), "out-line\n")
        self.assertEqual(self.artifact_bytes(rid, "cairn/stderr.log"), "err-line\n")
        self.assertEqual(arts["cairn/stdout.log"]["size"], len("out-line\n"))
        self.assertEqual(arts["cairn/stdout.log"]["oid"], "sha256:" + sha256_bytes(b"out-line\n"))

        # Code and machine.
        e = d["env"]
        self.assertEqual(e["git.commit"], self.head)
        self.assertEqual(e["git.branch"], "main")
        self.assertEqual(e["git.dirty"], "false")
        for key in ("os.name", "os.kernel", "os.machine", "cpu.cores", "memory.bytes"):
            self.assertIn(key, e)
        self.assertEqual(e["os.name"], "Linux")
        self.assertGreater(int(e["cpu.cores"]), 0)
        self.assertGreater(int(e["memory.bytes"]), 0)
        self.assertNotIn("python.version", e)  # not a Python command

        # The run is sealed into a record object named by refs/runs/<id>.
        self.assertRegex(d["record"], OID_RE)
        with open(self.run_ref(rid)) as f:
            self.assertEqual(f.read().strip(), d["record"])
        self.assertTrue(self.in_cache(d["record"]))

        # Text form.
        text = self.ok("runs", "show", rid).stdout
        self.assertIn("run %s  (knn-5)" % rid, text)
        self.assertIn("FINISHED (exit 0)", text)
        self.assertIn("lr = 0.1", text)
        self.assertIn("acc = 0.95  (step 4)", text)
        self.assertIn("git.commit = " + self.head, text)

    def test_exit_codes_and_statuses(self):
        r, rid = self.run_cmd("-n", "three", "--", "sh", "-c", "echo partial; exit 3", code=3)
        self.assertEqual(r.stdout, "partial\n")
        self.assertRegex(r.stderr, r"FAILED in \S+ \(exit 3\)")
        d = self.show(rid)
        self.assertEqual((d["status"], d["exit_code"]), ("FAILED", 3))
        self.assertEqual(self.artifact_bytes(rid, "cairn/stdout.log"), "partial\n")

        # A command dying of a signal exits 128+N; termination signals mean KILLED, crashes FAILED.
        for sig, status in (("SEGV", "FAILED"), ("ABRT", "FAILED"), ("TERM", "KILLED"), ("KILL", "KILLED"),
                            ("INT", "KILLED"), ("HUP", "KILLED")):
            with self.subTest(sig=sig):
                num = getattr(signal, "SIG" + sig)
                _, rid = self.run_cmd("-n", sig.lower(), "--", "sh", "-c", "kill -%s $$" % sig, code=128 + num)
                d = self.show(rid)
                self.assertEqual((d["status"], d["exit_code"]), (status, 128 + num))

        _, rid = self.run_cmd("-n", "ok", "--", "true")
        self.assertEqual(self.show(rid)["status"], "FINISHED")
        self.assertEqual(self.names("attributes.status = 'FAILED'"), ["abrt", "segv", "three"])
        self.assertEqual(self.names("attributes.status = 'KILLED'"), ["hup", "int", "kill", "term"])
        self.assertEqual(self.names("attributes.status = 'FINISHED'"), ["ok"])

    def test_command_not_found_creates_no_run(self):
        for cmd in (["no-such-command-xyz", "arg"], ["./missing.sh"]):
            with self.subTest(cmd=cmd):
                r = self.fails("run", "-n", "x", "--", *cmd, msg="command not found: " + cmd[0])
                self.assertNotIn("started", r.stderr)
                self.assertEqual(r.stdout, "")
        self.assertEqual(self.runs(), [])
        refs = os.path.join(self.cairn_dir, "refs", "runs")
        self.assertEqual(os.listdir(refs) if os.path.isdir(refs) else [], [])
        self.fails("run", msg="command is required")

    def test_non_executable_command_has_clear_error(self):
        self.write("noexec.sh", "echo hi\n", mode=0o644)
        r = self.fails("run", "--", "./noexec.sh")
        self.assertEqual(self.runs(), [])
        self.assertRegex(r.stderr.lower(), r"permission denied|not executable")

    def test_command_dash_args_after_multi_value_option(self):
        self.write("args.sh", 'echo "$@"\n')
        self.make_dataset()
        for opt in (["-p", "k=5"], ["-t", "t=x"], ["-i", "data/iris@v1"]):
            with self.subTest(opt=opt):
                r, rid = self.run_cmd(*opt, "--", "sh", "args.sh", "--k", "5", "-x")
                self.assertEqual(r.stdout, "--k 5 -x\n")
                self.assertEqual(self.show(rid)["command"], "sh args.sh --k 5 -x")

    def test_command_dash_args_after_single_value_option(self):
        self.write("args.sh", 'echo "$@"\n')
        r, rid = self.run_cmd("-n", "dash", "--", "sh", "args.sh", "--k", "5", "-x")
        self.assertEqual(r.stdout, "--k 5 -x\n")
        d = self.show(rid)
        self.assertEqual(d["command"], "sh args.sh --k 5 -x")
        # Multi-value options are fine before a command without dash arguments.
        r, rid = self.run_cmd("-p", "a=1", "-p", "b=x=y", "-t", "t=1", "--", "sh", "args.sh", "plain")
        self.assertEqual(r.stdout, "plain\n")
        d = self.show(rid)
        self.assertEqual(d["params"], {"a": "1", "b": "x=y"})
        self.assertEqual(d["tags"], {"t": "1"})

    def test_bad_run_options(self):
        self.fails("run", "-p", "k", "--", "true", msg="--param 'k' is not KEY=VALUE")
        self.fails("run", "-i", "nope@v1", "--", "true", msg="unknown dataset 'nope'")
        self.assertEqual(self.runs(), [])

    def test_experiment_from_env_and_option(self):
        _, a = self.run_cmd("--", "true", env={"CAIRN_EXPERIMENT": "from-env"})
        _, b = self.run_cmd("-e", "from-opt", "--", "true", env={"CAIRN_EXPERIMENT": "from-env"})
        _, c = self.run_cmd("--", "true")
        self.assertEqual(self.show(a)["experiment"], "from-env")
        self.assertEqual(self.show(b)["experiment"], "from-opt")
        self.assertEqual(self.show(c)["experiment"], "Default")
        exps = {e["name"]: e["runs"] for e in self.json("experiments")}
        self.assertEqual(exps, {"Default": 1, "from-env": 1, "from-opt": 1})

    def test_stdin_and_large_binary_output(self):
        r, rid = self.run_cmd("--", "cat", input="piped text\n")
        self.assertEqual(r.stdout, "piped text\n")
        self.assertEqual(self.artifact_bytes(rid, "cairn/stdout.log"), "piped text\n")

        blob = bytes(range(256)) * 4096  # 1 MiB, every byte value
        self.write("blob.bin", blob)
        full_env = dict(self.env)
        p = subprocess.run([CAIRN_BIN, "run", "--", "cat", "blob.bin"], cwd=self.repo, env=full_env,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, blob)
        rid = STARTED_RE.search(p.stderr.decode()).group(1)
        out = subprocess.run([CAIRN_BIN, "artifacts", "get", rid, "cairn/stdout.log", "-o", "-"], cwd=self.repo,
                             env=full_env, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, blob)

    def test_run_from_subdirectory(self):
        os.makedirs(self.path("sub"))
        self.write("sub/result.txt", "42\n")
        r, rid = self.run_cmd("--", "sh", "-c", "pwd; cairn runs log --artifact result.txt >/dev/null",
                              cwd=self.path("sub"))
        self.assertEqual(os.path.realpath(r.stdout.strip()), os.path.realpath(self.path("sub")))
        d = self.show(rid)
        self.assertEqual(d["cwd"], "sub")
        # The artifact keeps its path relative to the repository root.
        self.assertIn("sub/result.txt", [a["path"] for a in d["artifacts"]])
        self.assertEqual(self.artifact_bytes(rid, "sub/result.txt"), "42\n")
        # -C works the same way.
        r = self.cairn("-C", self.repo, "run", "-n", "viaC", "--", "true", cwd=self.tmp)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertEqual(self.show("viaC")["cwd"], ".")

    def test_child_environment_defaults(self):
        probe = 'echo "$PYTHONUNBUFFERED"'
        r, _ = self.run_cmd("--", "sh", "-c", probe)
        self.assertEqual(r.stdout, "1\n")  # Python output streams live
        r, _ = self.run_cmd("--", "sh", "-c", probe, env={"PYTHONUNBUFFERED": "0"})
        self.assertEqual(r.stdout, "0\n")  # unless already set
        # A CAIRN_RUN_ID inherited from an outer run is replaced by the new run's id.
        r, rid = self.run_cmd("--", "sh", "-c", 'echo "$CAIRN_RUN_ID"', env={"CAIRN_RUN_ID": "f" * 32})
        self.assertEqual(r.stdout.strip(), rid)

    def test_git_remote_without_credentials(self):
        for url, expect in (("https://user:s3cret@example.com/org/x.git", "https://example.com/org/x.git"),
                            ("https://ghp_token123@github.com/o/x.git", "https://github.com/o/x.git"),
                            ("ssh://user:pw@host/x.git", "ssh://host/x.git"),
                            ("git@github.com:o/x.git", "git@github.com:o/x.git")):
            with self.subTest(url=url):
                self.git("remote", "remove", "origin", check=False)
                self.git("remote", "add", "origin", url)
                _, rid = self.run_cmd("--", "true")
                env = self.show(rid)["env"]
                self.assertEqual(env["git.remote"], expect)
                self.assertNotIn("s3cret", json.dumps(env))
                self.assertNotIn("token123", json.dumps(env))

    def test_latest_metric_is_highest_step(self):
        rid = self.new_run(script="cairn runs log --metric acc=0.9@5 >/dev/null\n"
                                  "cairn runs log --metric acc=0.1@2 >/dev/null\n"
                                  "cairn runs log --metric b=1@3 >/dev/null\n"
                                  "cairn runs log --metric b=2@3 >/dev/null")
        m = self.show(rid)["metrics"]
        self.assertEqual((m["acc"]["value"], m["acc"]["step"]), (0.9, 5))
        self.assertEqual((m["b"]["value"], m["b"]["step"]), (2, 3))  # same step: the newest
        self.assertEqual(self.runs()[0]["metrics"]["acc"]["value"], 0.9)
        self.assertEqual(sorted((p["step"], p["value"]) for p in self.history(rid, "acc")), [(2, 0.1), (5, 0.9)])
        self.assertEqual(self.names("metrics.acc > 0.5"), [""])

    def test_git_dirty_and_diff(self):
        _, clean = self.run_cmd("--", "true")
        d = self.show(clean)
        self.assertEqual(d["env"]["git.dirty"], "false")
        self.assertNotIn("cairn/git.diff", [a["path"] for a in d["artifacts"]])

        # An untracked file (the script that ran, say) is code the commit lacks: dirty, and its
        # content is kept with the diff. Ignored files do not count.
        self.write(".gitignore", "*.log\n")
        self.commit(message="ignore logs")
        self.head = self.git("rev-parse", "HEAD").stdout.strip()
        self.write("noise.log", "ignored\n")
        self.write("train.py", "print('hello')\n")
        _, untracked = self.run_cmd("--", "true")
        d = self.show(untracked)
        self.assertEqual(d["env"]["git.dirty"], "true")
        diff = self.artifact_bytes(untracked, "cairn/git.diff")
        self.assertIn("+++ b/train.py", diff)
        self.assertIn("+print('hello')", diff)
        self.assertNotIn("noise.log", diff)
        os.remove(self.path("train.py"))

        self.append("README", "local change\n")
        _, dirty = self.run_cmd("--", "true")
        d = self.show(dirty)
        self.assertEqual(d["env"]["git.dirty"], "true")
        self.assertEqual(d["env"]["git.commit"], self.head)
        self.assertIn("cairn/git.diff", [a["path"] for a in d["artifacts"]])
        diff = self.artifact_bytes(dirty, "cairn/git.diff")
        self.assertIn("--- a/README", diff)
        self.assertIn("+++ b/README", diff)
        self.assertIn("+local change", diff)
        self.assertEqual(diff, self.git("diff", "HEAD").stdout)

    def test_untracked_files_are_patched_in_process_and_apply(self):
        # Many untracked files: each is a new-file patch in the run's diff, made without a git
        # process per file, and `git apply` on a clean clone of the commit restores every one,
        # the executable bit and binary content included.
        for i in range(30):
            self.write("src/m%02d.py" % i, "x = %d\n" % i)
        self.write("run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
        blob = bytes(range(256)) * 4
        self.write("blob.bin", blob)
        # A git on PATH that logs its arguments, then runs the real one.
        real_git = shutil.which("git", path=self.env.get("PATH"))
        shim = os.path.join(self.tmp, "shim")
        os.makedirs(shim)
        log = os.path.join(self.tmp, "git.log")
        with open(os.path.join(shim, "git"), "w") as f:
            f.write('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (shlex.quote(log), shlex.quote(real_git)))
        os.chmod(os.path.join(shim, "git"), 0o755)
        _, rid = self.run_cmd("--", "true", env={"PATH": shim + os.pathsep + self.env["PATH"]})
        with open(log) as f:
            calls = f.read()
        self.assertIn("status", calls, "the shim saw cairn's git calls")
        self.assertNotIn("--no-index", calls, "no git process per untracked file")
        self.assertEqual(self.show(rid)["env"]["git.dirty"], "true")
        diff = self.artifact_bytes(rid, "cairn/git.diff")
        clone = os.path.join(self.tmp, "clone")
        self.git("clone", "-q", self.repo, clone)
        applied = subprocess.run(["git", "apply", "-"], input=diff, cwd=clone, capture_output=True, text=True)
        self.assertEqual(applied.returncode, 0, applied.stderr)
        for i in range(30):
            with open(os.path.join(clone, "src/m%02d.py" % i)) as f:
                self.assertEqual(f.read(), "x = %d\n" % i)
        self.assertTrue(os.access(os.path.join(clone, "run.sh"), os.X_OK), "the executable bit is kept")
        with open(os.path.join(clone, "blob.bin"), "rb") as f:
            self.assertEqual(f.read(), blob)

    def test_python_environment(self):
        self.write("t.py", "import os\nprint(os.environ['CAIRN_RUN_ID'])\n")
        r, rid = self.run_cmd("--", "python3", "t.py")
        self.assertEqual(r.stdout.strip(), rid)
        e = self.show(rid)["env"]
        probe = subprocess.run(
            ["python3", "-c",
             "import importlib.metadata as m, json, platform\n"
             "print(json.dumps([platform.python_version(), "
             "[(d.metadata['Name'], d.version) for d in m.distributions()]]))"],
            env=self.env, capture_output=True, text=True, check=True)
        version, dists = json.loads(probe.stdout)
        self.assertEqual(e["python.version"], version)
        pkgs = {k[len("python.packages."):]: v for k, v in e.items() if k.startswith("python.packages.")}
        self.assertTrue(pkgs, "no python.packages.* recorded")
        installed = {}
        for name, ver in dists:
            installed.setdefault(name.lower(), set()).add(ver)
        for name, ver in pkgs.items():
            self.assertIn(ver, installed.get(name.lower(), set()), "python.packages.%s=%s" % (name, ver))
        self.assertEqual({n.lower() for n in pkgs}, set(installed))


# ---------------------------------------------------------------------------------------------
class Logging(TrackingTestCase):

    def test_params_are_write_once(self):
        script = ("cairn runs log --param k=5 || exit 10\n"
                  "cairn runs log --param k=5 || exit 11\n"           # same value again: fine
                  "cairn runs log --param k=6 2> err.txt; echo $? > rc.txt\n")
        _, rid = self.run_cmd("--", "sh", "-c", script)
        self.assertEqual(self.read("rc.txt").decode().strip(), str(ERROR))
        err = self.read("err.txt").decode()
        self.assertIn("cairn: error: ", err)
        self.assertIn("write-once", err)
        self.assertIn("'5'", err)
        self.assertEqual(self.show(rid)["params"], {"k": "5"})
        # A -p value is write-once too.
        rid = self.new_run("-p", "lr=0.1", script="cairn runs log --param lr=0.2 2>/dev/null; echo $? > rc.txt")
        self.assertEqual(self.read("rc.txt").decode().strip(), str(ERROR))
        self.assertEqual(self.show(rid)["params"], {"lr": "0.1"})

    def test_metrics_history_and_special_values(self):
        script = ("cairn runs log --metric loss=1.5@0 --metric acc=0.5@1 >/dev/null\n"
                  "cairn runs log --metric loss=0.75@1 >/dev/null\n"
                  "cairn runs log --metric loss=0.25@2 --metric n=nan --metric p=inf --metric m=-inf >/dev/null\n")
        _, rid = self.run_cmd("--", "sh", "-c", script)
        d = self.show(rid)
        m = d["metrics"]
        self.assertEqual((m["loss"]["value"], m["loss"]["step"]), (0.25, 2))
        self.assertEqual((m["acc"]["value"], m["acc"]["step"]), (0.5, 1))
        self.assertEqual(m["n"]["value"], "NaN")
        self.assertEqual(m["p"]["value"], "Infinity")
        self.assertEqual(m["m"]["value"], "-Infinity")
        self.assertEqual(m["n"]["step"], 0)

        h = self.history(rid, "loss")
        self.assertEqual([(p["step"], p["value"]) for p in h], [(0, 1.5), (1, 0.75), (2, 0.25)])
        for p in h:
            self.assertIsInstance(p["timestamp"], int)
        self.assertEqual([p["value"] for p in self.history(rid, "n")], ["NaN"])
        self.assertEqual([p["value"] for p in self.history(rid, "m")], ["-Infinity"])

        text = self.ok("runs", "history", rid, "loss").stdout.splitlines()
        self.assertEqual([l.split("\t")[:2] for l in text], [["0", "1.5"], ["1", "0.75"], ["2", "0.25"]])
        show = self.ok("runs", "show", rid).stdout
        self.assertIn("n = nan", show)
        self.assertIn("p = inf", show)
        self.assertIn("m = -inf", show)

        self.fails("runs", "history", rid, "nope", msg="has no metric 'nope'", hint="cairn runs show")

    def test_history_text_keeps_full_precision(self):
        _, rid = self.run_cmd("--", "sh", "-c", "cairn runs log --metric acc=0.40816326530612246@3 "
                                                "--metric big=123456789.125 >/dev/null")
        self.assertEqual(self.ok("runs", "history", rid, "acc").stdout.split("\t")[:2], ["3", "0.40816326530612246"])
        self.assertEqual(float(self.ok("runs", "history", rid, "acc").stdout.split("\t")[1]), 0.40816326530612246)
        self.assertEqual(self.ok("runs", "history", rid, "big").stdout.split("\t")[1], "123456789.125")

    def test_ended_run_accepts_tags_and_artifacts_only(self):
        rid = self.new_run("-t", "t=1", script="cairn runs log --param k=1 --metric a=1 >/dev/null")
        self.make_dataset()
        for args, what in ((["--param", "k=1"], "params"), (["--param", "z=2"], "params"),
                           (["--metric", "a=2"], "metrics"), (["--input", "data/iris@v1"], "inputs")):
            with self.subTest(args=args):
                self.fails("runs", "log", "--run", rid, *args,
                           msg="has ended (FINISHED); %s can only be logged while it runs" % what,
                           hint="tags and artifacts can still be added")
        self.write("late.txt", "late\n")
        r = self.ok("runs", "log", "--run", rid, "--tag", "t=2", "--tag", "review=ok", "--artifact", "late.txt")
        self.assertIn("logged to run " + rid, r.stdout)
        d = self.show(rid)
        self.assertEqual(d["tags"], {"t": "2", "review": "ok"})  # tags may change
        self.assertEqual(d["params"], {"k": "1"})
        self.assertEqual(d["metrics"]["a"]["value"], 1)
        self.assertEqual([p["value"] for p in self.history(rid, "a")], [1])
        self.assertEqual(d["inputs"], [])
        self.assertEqual(self.artifact_bytes(rid, "late.txt"), "late\n")

    def test_bad_log_arguments(self):
        _, rid = self.run_cmd("--", "true")
        self.write("f.txt", "x")
        cases = [
            (["--metric", "acc=abc"], "'abc' is not a number"),
            (["--metric", "acc"], "is not KEY=VALUE"),
            (["--metric", "acc=1@x"], "step 'x' is not an integer"),
            (["--param", "=1"], "is not KEY=VALUE"),
            (["--tag", "novalue"], "is not KEY=VALUE"),
            ([], "nothing to log"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                self.fails("runs", "log", "--run", rid, *args, msg=msg)
        # No run at all: neither --run nor $CAIRN_RUN_ID.
        self.fails("runs", "log", "--metric", "a=1", msg="no run given", hint="CAIRN_RUN_ID")
        self.fails("runs", "log", "--metric", "a=1", env={"CAIRN_RUN_ID": "f" * 32}, msg="no run '" + "f" * 32 + "'",
                   hint=UNKNOWN_RUN_HINT)
        self.assertEqual(self.show(rid)["tags"], {})

    def test_artifact_sources_and_paths(self):
        outside = os.path.join(self.tmp, "outside.txt")
        with open(outside, "w") as f:
            f.write("secret\n")
        self.write("in.txt", "inside\n")
        os.symlink(outside, self.path("link.txt"))
        os.symlink(self.tmp, self.path("linkdir"))
        os.makedirs(self.path("d/e"))
        self.write("d/a.txt", "A")
        self.write("d/e/b.txt", "B")
        script = ("cairn runs log --artifact in.txt --artifact in.txt:models/best.txt --artifact d "
                  "--artifact d:copy >/dev/null")
        _, rid = self.run_cmd("--", "sh", "-c", script)
        before = self.json("artifacts", "list", rid)

        bad = [
            ("link.txt", "leaves the repository through a symlink"),
            ("linkdir/outside.txt", "leaves the repository through a symlink"),
            ("nope.txt", "does not exist"),
            ("in.txt:../x", "'..'"),
            ("in.txt:a/../../x", "'..'"),
            ("in.txt:/abs", "absolute"),
            ("in.txt:./x", "'..'"),
            ("in.txt:a//b", "'..'"),
        ]
        for spec, msg in bad:
            with self.subTest(spec=spec):
                self.fails("runs", "log", "--run", rid, "--artifact", spec, msg=msg)
        self.assertEqual(self.json("artifacts", "list", rid), before)
        paths = [a["path"] for a in before]
        for p in ("in.txt", "models/best.txt", "d/a.txt", "d/e/b.txt", "copy/a.txt", "copy/e/b.txt"):
            self.assertIn(p, paths)
        self.assertEqual(paths, sorted(paths))
        sizes = {a["path"]: a["size"] for a in before}
        self.assertEqual(sizes["models/best.txt"], len("inside\n"))
        text = self.ok("artifacts", "list", rid).stdout
        self.assertIn("models/best.txt\t7 B\t", text)

        # Files from outside the repository are copied under their file name or the artifact
        # path given (a symlink inside that leads out is refused above).
        for spec in (outside, "../outside.txt:ext/rel.txt"):
            with self.subTest(spec=spec):
                self.ok("runs", "log", "--run", rid, "--artifact", spec)
        os.remove(outside)  # copied, not referenced
        for path in ("outside.txt", "ext/rel.txt"):
            self.assertEqual(self.artifact_bytes(rid, path), "secret\n", path)

    def test_artifacts_keep_their_repository_path(self):
        self.write("models/a.json", "model\n")
        self.write("eval/a.json", "eval\n")
        _, rid = self.run_cmd("--", "sh", "-c",
                              "cairn runs log --artifact models/a.json --artifact eval/a.json >/dev/null")
        paths = [a["path"] for a in self.json("artifacts", "list", rid)]
        self.assertIn("models/a.json", paths)
        self.assertIn("eval/a.json", paths)
        self.assertEqual(self.artifact_bytes(rid, "models/a.json"), "model\n")
        self.assertEqual(self.artifact_bytes(rid, "eval/a.json"), "eval\n")

    def test_unknown_and_ambiguous_runs(self):
        _, rid = self.run_cmd("-n", "twin", "--", "true")
        _, rid2 = self.run_cmd("-n", "twin", "--", "true")
        _, rid3 = self.run_cmd("-n", "solo", "--", "true")
        unknown = "0123456789abcdef0123456789abcdef"
        for args in (["runs", "show", unknown], ["runs", "log", "--run", unknown, "--tag", "a=b"],
                     ["runs", "delete", unknown], ["runs", "restore", unknown],
                     ["runs", "history", unknown, "acc"], ["runs", "compare", unknown, rid],
                     ["artifacts", "list", unknown], ["artifacts", "get", unknown, "x"]):
            with self.subTest(args=args):
                self.fails(*args, msg="no run '%s'" % unknown, hint=UNKNOWN_RUN_HINT)
        # Prefixes of 6+ digits, full ids and unique names resolve; 5 digits do not.
        self.assertEqual(self.show(rid3[:6])["id"], rid3)
        self.assertEqual(self.show(rid3)["id"], rid3)
        self.assertEqual(self.show("solo")["id"], rid3)
        self.fails("runs", "show", rid3[:5], msg="no run '%s'" % rid3[:5], hint="6+ digits")
        r = self.fails("runs", "show", "twin", msg="'twin' matches several runs")
        self.assertIn(rid, r.stderr)
        self.assertIn(rid2, r.stderr)
        self.fails("runs", "compare", rid, msg="compare needs at least two runs")


# ---------------------------------------------------------------------------------------------
class Inputs(TrackingTestCase):

    def test_workspace_and_explicit_inputs(self):
        v1 = self.make_dataset("data/iris", tag="v1")
        self.append("data/iris/iris.csv", "1,1,1,1,setosa\n")
        v2 = self.add1("data/iris")["version"]
        self.copy_example("wine_data.csv", "wine.csv")
        vw = self.add1("wine.csv")["version"]
        self.ok("tag", "wine.csv", "w1")

        _, rid = self.run_cmd("-n", "plain", "--", "true")
        inputs = self.show(rid)["inputs"]
        self.assertEqual(sorted((i["dataset"], i["version"], i["tag"], i["source"]) for i in inputs),
                         [("data/iris", v2, "", "workspace"), ("wine.csv", vw, "w1", "workspace")])

        _, rid = self.run_cmd("-i", "data/iris@v1", "-n", "explicit", "--", "sh", "-c",
                              "cairn runs log --input wine.csv@w1 >/dev/null")
        inputs = self.show(rid)["inputs"]
        got = sorted((i["dataset"], i["version"], i["tag"], i["source"]) for i in inputs)
        # An explicit input replaces the workspace version of its dataset: the run never read v2.
        self.assertEqual(got, [("data/iris", v1, "v1", "explicit"), ("wine.csv", vw, "w1", "explicit")])
        text = self.ok("runs", "show", rid).stdout
        self.assertIn("data/iris  v1  %s  (explicit)" % v1[7:19], text)
        self.assertNotIn("(workspace)", text)
        self.assertEqual(self.names("datasets.`data/iris` = '%s'" % v2[7:19]), ["plain"])
        self.assertEqual(self.names("datasets.`data/iris` = 'v1'"), ["explicit"])

    def test_a_modified_input_is_marked_in_show_compare_and_lineage(self):
        v1 = self.make_dataset("data/iris", tag="v1")
        _, clean = self.run_cmd("-n", "clean", "--", "true")
        self.append("data/iris/iris.csv", "1,1,1,1,setosa\n")
        r, dirty = self.run_cmd("-n", "dirty", "--", "true")
        self.assertIn("cairn: warning: data/iris differs from its pointer's version v1", r.stderr)
        text = self.ok("runs", "show", dirty).stdout
        self.assertIn("data/iris  v1  %s  (workspace, modified since that version)" % v1[7:19], text)
        self.assertIn("data/iris  v1  %s  (workspace)\n" % v1[7:19], self.ok("runs", "show", clean).stdout)
        # Compare: the data row differs, and says which side read modified data.
        rows = {(r["section"], r["key"]): r for r in self.json("runs", "compare", clean, dirty)["rows"]}
        data = rows[("data", "data/iris")]
        self.assertTrue(data["differs"], data)
        self.assertEqual(data["values"], ["v1 " + v1[7:19], "v1 %s (modified)" % v1[7:19]])
        self.assertRegex(self.ok("runs", "compare", clean, dirty).stdout, r"\* +data\.data/iris .*\(modified\)")
        # Lineage, up from the run and down from the version: the edge says the run read other bytes.
        node = "dataset:data/iris@" + v1[7:]
        for target, down in ((dirty, False), ("data/iris@v1", True)):
            g = self.json("lineage", target, *(["--down"] if down else []), "--format", "json")
            edges = {(e["from"], e["to"]): e["modified"] for e in g["edges"]}
            self.assertTrue(edges[(node, "run:" + dirty)], g["edges"])
            if down:
                self.assertFalse(edges[(node, "run:" + clean)], g["edges"])
        self.assertIn("modified: the run read workspace data changed since this version",
                      self.ok("lineage", dirty).stdout)
        self.assertNotIn("modified", self.ok("lineage", clean).stdout)
        # Search names the version the data was derived from: both runs match (doc/tracking.md).
        self.assertEqual(self.names("datasets.`data/iris` = 'v1'"), ["clean", "dirty"])


# ---------------------------------------------------------------------------------------------
class Search(TrackingTestCase):
    """Runs: knn-1/3/5 (acc 0.5/0.7/0.9, tag model=KNN) and nometric (k=7) in experiment knn;
    tree (FAILED, model=Tree, input data/iris@v1) and other (input data/iris v2) in Default."""

    def setUp(self):
        super().setUp()
        self.v1 = self.make_dataset("data/iris", tag="v1")
        self.ids = {}
        for k, acc in ((1, "0.5"), (3, "0.7"), (5, "0.9")):
            self.ids["knn-%d" % k] = self.new_run("-p", "k=%d" % k, "-t", "model=KNN", "-e", "knn",
                                                  "-n", "knn-%d" % k,
                                                  script="cairn runs log --metric acc=%s >/dev/null" % acc)
        self.ids["nometric"] = self.new_run("-p", "k=7", "-e", "knn", "-n", "nometric")
        self.ids["tree"] = self.new_run("-t", "model=Tree", "-n", "tree",
                                        script="cairn runs log --metric acc=0.6 >/dev/null; exit 1", code=1)
        self.append("data/iris/iris.csv", "9,9,9,9,x\n")
        self.v2 = self.add1("data/iris")["version"]
        self.ids["other"] = self.new_run("-n", "other")

    def test_all_and_text_table(self):
        self.assertEqual(self.names(), ["knn-1", "knn-3", "knn-5", "nometric", "other", "tree"])
        # Default order: newest first.
        self.assertEqual(self.ordered_names(), ["other", "tree", "nometric", "knn-5", "knn-3", "knn-1"])
        lines = self.ok("runs", "-e", "knn").stdout.splitlines()
        self.assertEqual(lines[0].split()[:6], ["RUN", "NAME", "EXPERIMENT", "STATUS", "STARTED", "TIME"])
        self.assertIn("params.k", lines[0])
        self.assertIn("metrics.acc", lines[0])
        self.assertEqual(len(lines), 5)
        row = [l for l in lines if " knn-5 " in l][0]
        self.assertTrue(row.startswith(self.ids["knn-5"][:8]), row)
        self.assertIn("FINISHED", row)
        self.assertIn("0.9", row)
        r = self.runs()[0]
        for key in ("id", "name", "experiment", "experiment_id", "status", "start_time", "end_time", "user",
                    "deleted", "exit_code", "params", "tags", "metrics"):
            self.assertIn(key, r)

    def test_experiment_option(self):
        self.assertEqual(self.names(None, "-e", "knn"), ["knn-1", "knn-3", "knn-5", "nometric"])
        self.assertEqual(self.names(None, "-e", "Default"), ["other", "tree"])
        self.assertEqual(len(self.runs("-e", "knn", "-e", "Default")), 6)
        self.fails("runs", "-e", "nope", msg="no experiment named 'nope'")

    def test_or_and_precedence_and_parentheses(self):
        self.assertEqual(self.names("params.k = '1' or params.k = '5'"), ["knn-1", "knn-5"])
        # 'and' binds tighter than 'or': k=7 or (k=1 and acc>0.6)
        self.assertEqual(self.names("params.k = '7' or params.k = '1' and metrics.acc > 0.6"), ["nometric"])
        self.assertEqual(self.names("params.k = '1' and metrics.acc > 0.6 or params.k = '7'"), ["nometric"])
        self.assertEqual(self.names("(params.k = '7' or params.k = '1') and metrics.acc > 0.6"), [])
        self.assertEqual(self.names("(params.k = '7' or params.k = '5') and metrics.acc > 0.6"), ["knn-5"])
        self.assertEqual(self.names("metrics.acc > 0.5 AND params.k = '1' OR params.k = '3'"), ["knn-3"])
        self.assertEqual(self.names("((attributes.run_name = 'tree'))"), ["tree"])
        self.assertEqual(self.names("attributes.run_name = 'tree' or (attributes.run_name = 'other' and "
                                    "(params.k = '1' or metrics.acc > 0))"), ["tree"])

    def test_comparisons(self):
        self.assertEqual(self.names("metrics.acc > 0.5"), ["knn-3", "knn-5", "tree"])
        self.assertEqual(self.names("metrics.acc >= 0.7"), ["knn-3", "knn-5"])
        self.assertEqual(self.names("metrics.acc < 0.7"), ["knn-1", "tree"])
        self.assertEqual(self.names("metrics.acc <= 0.6"), ["knn-1", "tree"])
        self.assertEqual(self.names("metrics.acc = 0.9"), ["knn-5"])
        self.assertEqual(self.names("metrics.acc != 0.7"), ["knn-1", "knn-5", "tree"])  # missing never matches
        self.assertEqual(self.names("params.k > 3"), ["knn-5", "nometric"])
        self.assertEqual(self.names("params.k = 5"), ["knn-5"])
        self.assertEqual(self.names("tags.model = 'KNN'"), ["knn-1", "knn-3", "knn-5"])
        self.assertEqual(self.names("tags.model != 'KNN'"), ["tree"])

    def test_like_ilike_in(self):
        self.assertEqual(self.names("attributes.run_name LIKE 'knn-%'"), ["knn-1", "knn-3", "knn-5"])
        self.assertEqual(self.names("attributes.run_name LIKE 'KNN-%'"), [])
        self.assertEqual(self.names("attributes.run_name ILIKE 'KNN-%'"), ["knn-1", "knn-3", "knn-5"])
        self.assertEqual(self.names("tags.model LIKE 'kn%'"), [])
        self.assertEqual(self.names("tags.model ILIKE 'kn%'"), ["knn-1", "knn-3", "knn-5"])
        self.assertEqual(self.names("attributes.run_name LIKE 'knn-_'"), ["knn-1", "knn-3", "knn-5"])
        self.assertEqual(self.names("params.k like '1%'"), ["knn-1"])
        self.assertEqual(self.names("params.k IN ('1', '5')"), ["knn-1", "knn-5"])
        self.assertEqual(self.names("params.k in ('3')"), ["knn-3"])
        self.assertEqual(self.names("params.k NOT IN ('1', '5')"), ["knn-3", "nometric"])
        self.assertEqual(self.names("metrics.acc IN (0.5, 0.9)"), ["knn-1", "knn-5"])

    def test_datasets(self):
        self.assertEqual(self.names("datasets.data/iris = 'v1'"), ["knn-1", "knn-3", "knn-5", "nometric", "tree"])
        hex1, hex2 = self.v1[7:], self.v2[7:]
        self.assertEqual(self.names("datasets.data/iris = '%s'" % hex1[:4]),
                         ["knn-1", "knn-3", "knn-5", "nometric", "tree"])
        self.assertEqual(self.names("datasets.data/iris = '%s'" % hex2[:8]), ["other"])
        self.assertEqual(self.names("datasets.data/iris = '%s'" % hex2), ["other"])
        self.assertEqual(self.names("datasets.data/iris IN ('%s')" % hex2[:6]), ["other"])
        self.assertEqual(self.names("datasets.data/iris != 'v1'"), ["other"])
        self.assertEqual(self.names("datasets.data/iris = 'nosuchtag'"), [])
        self.assertEqual(self.names("datasets.other/ds = 'v1'"), [])
        self.assertEqual(self.names("datasets.data/iris = 'v1' and tags.model = 'Tree'"), ["tree"])

    def test_attributes(self):
        self.assertEqual(self.names("attributes.status = 'FAILED'"), ["tree"])
        self.assertEqual(self.names("attributes.status = 'FINISHED'"),
                         ["knn-1", "knn-3", "knn-5", "nometric", "other"])
        self.assertEqual(self.names("attributes.status = 'RUNNING'"), [])
        self.assertEqual(self.names("attributes.run_id = '%s'" % self.ids["knn-3"]), ["knn-3"])
        self.assertEqual(self.names("attributes.run_id LIKE '%s%%'" % self.ids["knn-3"][:8]), ["knn-3"])
        user = self.runs()[0]["user"]
        self.assertEqual(len(self.names("attributes.user = '%s'" % user)), 6)
        self.assertEqual(self.names("attributes.user = 'somebody-else'"), [])
        start = {r["name"]: r["start_time"] for r in self.runs()}
        self.assertEqual(self.names("attributes.start_time > %d" % start["nometric"]),
                         sorted(n for n, t in start.items() if t > start["nometric"]))
        self.assertEqual(len(self.names("attributes.end_time > 0")), 6)

    def test_sort(self):
        order = self.ordered_names("-e", "knn", "--sort", "metrics.acc DESC")
        self.assertEqual(order, ["knn-5", "knn-3", "knn-1", "nometric"])  # missing metric last
        self.assertEqual(self.ordered_names("-e", "knn", "--sort", "metrics.acc ASC"),
                         ["knn-1", "knn-3", "knn-5", "nometric"])
        self.assertEqual(self.ordered_names("-e", "knn", "--sort", "metrics.acc"),
                         ["knn-1", "knn-3", "knn-5", "nometric"])
        self.assertEqual(self.ordered_names("-e", "knn", "--sort", "metrics.acc desc"),
                         ["knn-5", "knn-3", "knn-1", "nometric"])
        order = self.ordered_names("--sort", "metrics.acc DESC")
        self.assertEqual(order[:4], ["knn-5", "knn-3", "tree", "knn-1"])
        self.assertEqual(sorted(order[4:]), ["nometric", "other"])  # both without the metric, last
        order = self.ordered_names("--sort", "metrics.acc ASC")
        self.assertEqual(order[:4], ["knn-1", "tree", "knn-3", "knn-5"])
        self.assertEqual(sorted(order[4:]), ["nometric", "other"])
        self.assertEqual(self.ordered_names("-e", "knn", "--sort", "attributes.run_name DESC"),
                         ["nometric", "knn-5", "knn-3", "knn-1"])
        self.assertEqual(self.ordered_names("-e", "knn", "--sort", "attributes.start_time ASC"),
                         ["knn-1", "knn-3", "knn-5", "nometric"])
        # Several keys: tag first, then metric.
        self.assertEqual(self.ordered_names("--where", "tags.model LIKE '%'", "--sort", "tags.model DESC",
                                            "--sort", "metrics.acc DESC"),
                         ["tree", "knn-5", "knn-3", "knn-1"])
        r = self.fails("runs", "--sort", "metrics.acc SIDEWAYS", msg="column 13")
        self.assertIn("SIDEWAYS", r.stderr)
        self.fails("runs", "--sort", "foo.x", msg="unknown prefix 'foo' at column 1")

    def test_limit(self):
        self.assertEqual(self.ordered_names("--sort", "metrics.acc DESC", "--limit", "2"), ["knn-5", "knn-3"])
        self.assertEqual(self.ordered_names("-n", "1"), ["other"])
        self.assertEqual(len(self.runs("--limit", "100")), 6)
        self.assertEqual(self.runs("--limit", "0"), [])
        self.fails("runs", "--limit", "-1", msg="must not be negative")

    def test_long_cells_are_shortened_in_the_table_only(self):
        long_value = "é" + "x" * 6999
        rid = self.new_run("-n", "wide", "-p", "blob=" + long_value, "-p", "note=" + "ü" * 41)
        text = self.ok("runs", "-n", "1").stdout.splitlines()
        self.assertEqual(len(text), 2, text)
        self.assertLess(len(text[1]), 300, text[1][:300])
        self.assertIn("é" + "x" * 38 + "…", text[1])
        self.assertIn("ü" * 39 + "…", text[1])
        # Columns stay aligned: the header's params.note starts where the value does.
        self.assertEqual(text[0].index("params.note"), text[1].index("ü"))
        self.assertEqual(self.runs("-n", "1")[0]["params"]["blob"], long_value)
        self.assertEqual(self.show(rid)["params"]["blob"], long_value)

    def test_limit_says_when_more_runs_match(self):
        r = self.ok("runs", "--limit", "2")
        self.assertIn("cairn: showing the first 2 runs; more match (--limit N shows N)", r.stderr)
        self.assertEqual(len(r.stdout.strip().splitlines()), 3)  # head and two runs
        r = self.ok("runs", "--limit", "2", "--json")
        self.assertEqual(len(json.loads(r.stdout)), 2)  # stdout stays one JSON document
        self.assertIn("showing the first 2 runs; more match", r.stderr)
        for args in (["--limit", "6"], ["--limit", "6", "--json"], []):
            self.assertNotIn("showing", self.ok("runs", *args).stderr)
        # --limit 0 shows nothing but does not claim that nothing matches.
        r = self.ok("runs", "--limit", "0")
        self.assertEqual(r.stdout, "")
        self.assertNotIn("no runs match", r.stderr)
        self.assertIn("showing no runs (--limit 0); more match", r.stderr)
        r = self.ok("runs", "--limit", "0", "--where", "params.k = 'none'")
        self.assertIn("no runs match", r.stderr)
        self.assertNotIn("showing", r.stderr)

    def test_exit_code_gate(self):
        r = self.cairn("runs", "--where", "metrics.acc > 0.95", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        r = self.cairn("runs", "--where", "metrics.acc > 0.95", "--exit-code", "--json")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertEqual(json.loads(r.stdout), [])
        r = self.cairn("runs", "--where", "metrics.acc > 0.85", "--exit-code", "--json")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual([x["name"] for x in json.loads(r.stdout)], ["knn-5"])
        # Without --exit-code no match is still success.
        r = self.cairn("runs", "--where", "metrics.acc > 0.95")
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertIn("no runs match", r.stdout + r.stderr)
        # A broken filter is an error, not a "no match".
        self.fails("runs", "--where", "metrics.acc >", "--exit-code", msg="column 14")

    def test_malformed_filters_report_column(self):
        cases = [
            ("metrics.acc >", 14),
            ("metrics.acc > 0.5 and", 19),
            ("metrics.acc > 0.5 or", 19),
            ("foo.bar = 1", 1),
            ("metrics.acc = 'x", 15),
            ("(metrics.acc > 1", 1),
            ("metrics.acc > 1)", 16),
            ("params.k IN ()", 13),
            ("params.k IN ('1'", 13),
            ("params.k IN ('1',)", 18),
            ("metrics.acc ~ 1", 13),
            ("metrics.acc", 12),
            ("attributes.nope = 'x'", 12),
            ("metrics. > 1", 9),
            ("metrics.acc > 'abc'", 15),
            ("params.k > '3'", 12),
            ("params.k NOT '1'", 14),
            ("params.k = '1' xyz", 16),
            ("params.k = '1' and metrics.acc > 1e", 34),
            ("metrics.acc > 0.5 or or params.k = '1'", 22),
            ("= 1", 1),
            ("tags.`unterminated = 1", 6),
            ("datasets.data/iris LIKE 'v%'", 20),
        ]
        for flt, col in cases:
            with self.subTest(filter=flt):
                r = self.fails("runs", "--where", flt, msg=("filter: ", "column %d" % col))
                # The caret points at the column under the echoed filter.
                lines = r.stderr.splitlines()
                self.assertIn("  " + flt, lines, r.stderr)
                caret = lines[lines.index("  " + flt) + 1]
                self.assertEqual(caret, " " * (1 + col) + "^", r.stderr)
        self.assertEqual(len(self.runs()), 6)

    def test_a_filter_too_large_for_sqlite_is_refused_with_the_limit(self):
        # 5000 'or' terms once reached SQLite ("Expression tree is too large")
        # and came back with a hint to run 'cairn reindex'.
        huge = " or ".join(["params.k = '%d'" % i for i in range(5000)])
        r = self.fails("runs", "--where", huge, msg="filter is too large: it has 5000 comparisons joined by and/or; at most 500",
                       hint="IN list")
        self.assertNotIn("reindex", r.stderr)
        self.fails("runs", "--where", "params.k IN (%s)" % ", ".join("'%d'" % i for i in range(10001)),
                   msg="10001 values; at most 10000")
        # At the limits the search runs, sorted by a metric (the deepest query) or not.
        at_limit = " or ".join(["params.k = '%d'" % i for i in range(100, 599)] + ["params.k = '5'"])
        self.assertEqual(self.names(at_limit), ["knn-5"])
        self.assertEqual(self.names(at_limit, "--sort", "metrics.acc DESC", "-e", "knn"), ["knn-5"])
        many = "params.k IN (%s)" % ", ".join("'%d'" % i for i in range(10000))
        self.assertEqual(self.names(many), ["knn-1", "knn-3", "knn-5", "nometric"])
        nested = "params.k = '3'"
        for _ in range(10):
            nested = "params.k = 'x' and params.k = 'y' or metrics.acc > 0 and (%s)" % nested
        self.assertEqual(self.names(nested), ["knn-3"])
        self.fails("runs", "--where", "(" * 11 + "params.k = '1'" + ")" * 11, msg="nested too deeply")

    def test_numeric_params_and_alternate_syntax(self):
        self.new_run("-p", "k=9", "-n", "p9")
        self.new_run("-p", "k=10", "-n", "p10")
        # With a number, < and > on params compare numerically (as strings '10' < '9').
        self.assertEqual(self.names("params.k > 9"), ["p10"])
        self.assertEqual(self.names("params.k < 10"), ["knn-1", "knn-3", "knn-5", "nometric", "p9"])
        self.assertEqual(self.names("params.k >= 9.5"), ["p10"])
        self.assertEqual(self.names("params.k <> '9' and params.k > 7"), ["p10"])
        self.assertEqual(self.names('params.k = "9"'), ["p9"])
        self.assertEqual(self.names('params."k" = 9'), ["p9"])
        self.assertEqual(self.names("param.k = 9 or attr.name = 'p10' or run.name = 'tree'"), ["p10", "p9", "tree"])
        self.assertEqual(self.names("metric.acc > 0.85 or tag.model = 'Tree'"), ["knn-5", "tree"])

    def test_sort_comma_separated_and_invalid(self):
        self.assertEqual(self.ordered_names("--where", "tags.model LIKE '%'",
                                            "--sort", "tags.model DESC, metrics.acc ASC"),
                         ["tree", "knn-1", "knn-3", "knn-5"])
        self.fails("runs", "--sort", "datasets.data/iris", msg=("cannot order by datasets", "column 1"))

    def test_table_columns(self):
        header = lambda *a: self.ok("runs", *a).stdout.splitlines()[0].split()
        self.new_run("-p", "same=x", "-p", "k=1", "-e", "cols", "-n", "c1")
        self.new_run("-p", "same=x", "-p", "k=2", "-e", "cols", "-n", "c2")
        h = header("-e", "cols")
        self.assertIn("params.k", h)
        self.assertNotIn("params.same", h)  # equal in every listed run
        self.assertIn("params.same", header("-e", "cols", "--all-columns"))
        self.assertIn("params.same", header("-e", "cols", "--where", "params.same = 'x'"))
        self.assertIn("params.same", header("-e", "cols", "--sort", "params.same"))

    def test_quoting(self):
        _, rid = self.run_cmd("-t", "my key=it's", "-n", "quoted", "--", "true")
        self.assertEqual(self.names("tags.`my key` = 'it''s'"), ["quoted"])
        self.assertEqual(self.names("tags.`my key` LIKE 'it%'"), ["quoted"])


# ---------------------------------------------------------------------------------------------
class ShowCompare(TrackingTestCase):

    def test_compare(self):
        a = self.new_run("-p", "k=1", "-p", "same=x", "-n", "a",
                         script="cairn runs log --metric acc=0.5 --metric loss=1 >/dev/null")
        b = self.new_run("-p", "k=2", "-p", "same=x", "-n", "b",
                         script="cairn runs log --metric acc=0.75 --metric loss=1 >/dev/null; exit 4", code=4)
        c = self.json("runs", "compare", a, b)
        self.assertEqual(c["runs"], [a, b])
        rows = {(r["section"], r["key"]): r for r in c["rows"]}
        self.assertEqual(rows[("params", "k")]["values"], ["1", "2"])
        self.assertTrue(rows[("params", "k")]["differs"])
        self.assertEqual(rows[("params", "same")]["values"], ["x", "x"])
        self.assertFalse(rows[("params", "same")]["differs"])
        self.assertEqual(rows[("metrics", "acc")]["values"], ["0.5", "0.75"])
        self.assertTrue(rows[("metrics", "acc")]["differs"])
        self.assertFalse(rows[("metrics", "loss")]["differs"])
        self.assertEqual(rows[("run", "status")]["values"], ["FINISHED", "FAILED"])
        self.assertTrue(rows[("run", "status")]["differs"])
        self.assertEqual(rows[("run", "name")]["values"], ["a", "b"])
        self.assertEqual(rows[("code", "git.commit")]["values"], [self.head, self.head])
        self.assertFalse(rows[("code", "git.commit")]["differs"])
        for r in c["rows"]:
            self.assertEqual(len(r["values"]), 2)
            self.assertEqual(r["differs"], len(set(r["values"])) > 1, r)

        text = self.ok("runs", "compare", a[:8], "b").stdout
        k_line = [l for l in text.splitlines() if "params.k" in l][0]
        self.assertTrue(k_line.startswith("*"), k_line)
        same_line = [l for l in text.splitlines() if "params.same" in l][0]
        self.assertFalse(same_line.startswith("*"), same_line)
        # Three runs; a run compared with itself differs nowhere.
        c3 = self.json("runs", "compare", a, b, a)
        self.assertEqual(len(c3["runs"]), 3)
        self.assertFalse([r for r in self.json("runs", "compare", a, a)["rows"] if r["differs"]])

    def test_compare_data_and_env_rows(self):
        self.make_dataset("data/iris", tag="v1")
        a = self.new_run("-i", "data/iris@v1", "-n", "a")
        self.append("data/iris/iris.csv", "1,2,3,4,x\n")
        v2 = self.add1("data/iris")["version"]
        b = self.new_run("-n", "b")
        c = self.json("runs", "compare", a, b)
        data = [r for r in c["rows"] if r["section"] == "data"]
        self.assertEqual([r["key"] for r in data], ["data/iris"])
        self.assertTrue(data[0]["differs"])
        self.assertIn("v1", data[0]["values"][0])
        self.assertIn(v2[7:19], data[0]["values"][1])
        # Equal environment rows are hidden unless --all.
        self.assertFalse([r for r in c["rows"] if r["section"] == "env" and not r["differs"]])
        full = self.json("runs", "compare", a, b, "--all")
        env = {r["key"]: r for r in full["rows"] if r["section"] == "env"}
        self.assertIn("os.name", env)
        self.assertFalse(env["os.name"]["differs"])
        self.assertIn("equal env rows hidden", self.ok("runs", "compare", a, b).stdout)

    def test_compare_shows_the_diff_of_dirty_runs_and_tags(self):
        self.append("README", "change a\n")
        _, a = self.run_cmd("-t", "stage=dev", "-t", "mlflow.note=x", "--", "true")
        self.append("README", "change b\n")
        _, b = self.run_cmd("-t", "stage=prod", "-t", "mlflow.note=y", "--", "true")
        oids = []
        for run in (a, b):
            arts = {x["path"]: x["oid"] for x in self.show(run)["artifacts"]}
            oids.append(arts["cairn/git.diff"][7:19])
        self.assertNotEqual(oids[0], oids[1])
        c = self.json("runs", "compare", a, b)
        rows = {(r["section"], r["key"]): r for r in c["rows"]}
        self.assertEqual(rows[("code", "diff")]["values"], oids)
        self.assertTrue(rows[("code", "diff")]["differs"])
        self.assertEqual(rows[("tags", "stage")]["values"], ["dev", "prod"])
        self.assertTrue(rows[("tags", "stage")]["differs"])
        # Tags cairn or MLflow set are compared with --all only.
        self.assertNotIn(("tags", "mlflow.note"), rows)
        full = {(r["section"], r["key"]): r for r in self.json("runs", "compare", a, b, "--all")["rows"]}
        self.assertEqual(full[("tags", "mlflow.note")]["values"], ["x", "y"])
        text = self.ok("runs", "compare", a, b).stdout
        self.assertRegex(text, r"\* +code\.diff +%s +%s" % tuple(oids))
        self.assertRegex(text, r"\* +tags\.stage +dev +prod")
        self.assertIn("%d rows hidden (" % c["hidden_rows"], text)

    def test_compare_sees_small_metric_differences(self):
        a = self.new_run(script="cairn runs log --metric acc=0.1234567 >/dev/null")
        b = self.new_run(script="cairn runs log --metric acc=0.1234568 >/dev/null")
        rows = {(r["section"], r["key"]): r for r in self.json("runs", "compare", a, b)["rows"]}
        self.assertTrue(rows[("metrics", "acc")]["differs"], rows[("metrics", "acc")])


# ---------------------------------------------------------------------------------------------
class DeleteRestoreExperiments(TrackingTestCase):

    def test_delete_and_restore_runs(self):
        a = self.new_run("-n", "a")
        b = self.new_run("-n", "b")
        r = self.ok("runs", "delete", a[:6])
        self.assertEqual(r.stdout, "deleted run %s\n" % a)
        self.assertEqual(self.names(), ["b"])
        deleted = self.runs("--deleted")
        self.assertEqual([(x["name"], x["deleted"]) for x in deleted], [("a", True)])
        self.assertTrue(self.show(a)["deleted"])
        self.assertIn("[deleted]", self.ok("runs", "show", a).stdout)
        # Deleted runs stay out of searches and out of the gate.
        r = self.cairn("runs", "--where", "attributes.run_name = 'a'", "--exit-code")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        # Deleting twice is harmless; restore brings it back with its data.
        self.ok("runs", "delete", a)
        r = self.ok("runs", "restore", a)
        self.assertEqual(r.stdout, "restored run %s\n" % a)
        self.assertEqual(self.names(), ["a", "b"])
        self.assertEqual(self.runs("--deleted"), [])
        self.assertFalse(self.show(a)["deleted"])
        # Several at once.
        self.ok("runs", "delete", a, b)
        self.assertEqual(self.runs(), [])
        self.assertEqual(sorted(x["name"] for x in self.runs("--deleted")), ["a", "b"])
        self.ok("runs", "restore", a, b)
        self.assertEqual(self.names(), ["a", "b"])

    def test_experiments(self):
        self.assertEqual([(e["id"], e["name"], e["runs"], e["deleted"]) for e in self.json("experiments")],
                         [(0, "Default", 0, False)])
        r = self.ok("experiments", "create", "iris")
        self.assertEqual(r.stdout, "created experiment iris (id 1)\n")
        self.fails("experiments", "create", "iris", msg="experiment 'iris' exists")
        self.fails("experiments", "create", "Default", msg="experiment 'Default' exists")
        self.new_run("-e", "iris", "-n", "r1")
        self.new_run("-e", "iris", "-n", "r2")
        self.new_run("-n", "d1")
        exps = {e["name"]: e for e in self.json("experiments", "list")}
        self.assertEqual({n: e["runs"] for n, e in exps.items()}, {"Default": 1, "iris": 2})
        self.assertIsInstance(exps["iris"]["created"], int)
        text = self.ok("experiments").stdout
        self.assertIn("1\tiris\t2 runs", text)

        self.ok("experiments", "rename", "iris", "iris-knn")
        self.assertEqual(sorted(r["experiment"] for r in self.runs("-e", "iris-knn")), ["iris-knn", "iris-knn"])
        self.assertEqual(self.show("r1")["experiment"], "iris-knn")
        self.fails("runs", "-e", "iris", msg="no experiment named 'iris'")
        self.fails("experiments", "rename", "nope", "x", msg="no experiment named 'nope'")
        self.fails("experiments", "rename", "iris-knn", "Default", msg="experiment 'Default' exists")

        self.ok("experiments", "delete", "iris-knn")
        self.assertEqual([e["name"] for e in self.json("experiments")], ["Default"])
        all_ = {e["name"]: e for e in self.json("experiments", "--all")}
        self.assertTrue(all_["iris-knn"]["deleted"])
        self.assertEqual(all_["iris-knn"]["runs"], 2)
        # Its runs are kept.
        self.assertEqual(self.names(None, "-e", "iris-knn"), ["r1", "r2"])
        self.fails("run", "-e", "iris-knn", "--", "true", msg="experiment 'iris-knn' is deleted",
                   hint="cairn experiments restore iris-knn")
        self.fails("experiments", "delete", "Default", msg="the Default experiment cannot be deleted")
        self.fails("experiments", "delete", "nope", msg="no experiment named 'nope'")
        self.ok("experiments", "restore", "iris-knn")
        self.assertEqual(sorted(e["name"] for e in self.json("experiments")), ["Default", "iris-knn"])
        self.new_run("-e", "iris-knn", "-n", "r3")
        self.assertEqual(self.names(None, "-e", "iris-knn"), ["r1", "r2", "r3"])


# ---------------------------------------------------------------------------------------------
class Artifacts(TrackingTestCase):

    def setUp(self):
        super().setUp()
        self.write("model.bin", b"\x00model\xff")
        self.write("plots/a.png", "A")
        self.write("plots/sub/b.png", "BB")
        self.commit(message="outputs")  # committed: the run is clean (no cairn/git.diff)
        self.rid = self.new_run("-n", "art", script="echo hello; cairn runs log --artifact model.bin "
                                                     "--artifact plots >/dev/null")
        self.out = self.path("out")  # artifacts get runs inside the repository
        os.mkdir(self.out)

    def test_list(self):
        arts = self.json("artifacts", "list", self.rid)
        self.assertEqual([a["path"] for a in arts],
                         ["cairn/stdout.log", "model.bin", "plots/a.png", "plots/sub/b.png"])
        by = {a["path"]: a for a in arts}
        self.assertEqual(by["model.bin"]["size"], 7)
        self.assertEqual(by["model.bin"]["oid"], "sha256:" + sha256_bytes(b"\x00model\xff"))
        self.assertEqual(self.show(self.rid)["artifacts"], arts)

    def test_get_file(self):
        r = self.ok("artifacts", "get", self.rid, "model.bin", cwd=self.out)
        self.assertIn("wrote model.bin (7 B)", r.stdout)
        with open(os.path.join(self.out, "model.bin"), "rb") as f:
            self.assertEqual(f.read(), b"\x00model\xff")
        # Refuses to overwrite without --force, and leaves the file alone.
        with open(os.path.join(self.out, "model.bin"), "wb") as f:
            f.write(b"mine")
        self.fails("artifacts", "get", self.rid, "model.bin", cwd=self.out, msg="model.bin exists", hint="--force")
        with open(os.path.join(self.out, "model.bin"), "rb") as f:
            self.assertEqual(f.read(), b"mine")
        self.ok("artifacts", "get", self.rid, "model.bin", "--force", cwd=self.out)
        with open(os.path.join(self.out, "model.bin"), "rb") as f:
            self.assertEqual(f.read(), b"\x00model\xff")
        # -o to a new nested path; -o - to stdout.
        self.ok("artifacts", "get", self.rid, "plots/sub/b.png", "-o", "x/y/z.png", cwd=self.out)
        with open(os.path.join(self.out, "x/y/z.png")) as f:
            self.assertEqual(f.read(), "BB")
        self.assertEqual(self.artifact_bytes(self.rid, "cairn/stdout.log"), "hello\n")

    def test_get_directory(self):
        self.ok("artifacts", "get", self.rid, "plots", cwd=self.out)
        self.assertEqual(self.tree_snapshot(self.out).keys(),
                         {"plots", "plots/a.png", "plots/sub", "plots/sub/b.png"})
        with open(os.path.join(self.out, "plots/sub/b.png")) as f:
            self.assertEqual(f.read(), "BB")
        self.fails("artifacts", "get", self.rid, "plots", cwd=self.out, msg="exists", hint="--force")
        self.ok("artifacts", "get", self.rid, "plots", "--force", cwd=self.out)
        self.ok("artifacts", "get", self.rid, "plots", "-o", "pics", cwd=self.out)
        with open(os.path.join(self.out, "pics/a.png")) as f:
            self.assertEqual(f.read(), "A")
        with open(os.path.join(self.out, "pics/sub/b.png")) as f:
            self.assertEqual(f.read(), "BB")

    def test_get_errors(self):
        self.fails("artifacts", "get", self.rid, "nope", cwd=self.out, msg="has no artifact 'nope'",
                   hint="cairn artifacts list")
        self.fails("artifacts", "get", self.rid, "plo", cwd=self.out, msg="has no artifact 'plo'")
        self.assertEqual(os.listdir(self.out), [])


# ---------------------------------------------------------------------------------------------
class GarbageCollection(TrackingTestCase):

    def test_gc_keeps_run_records_and_artifacts(self):
        self.write("model.bin", "weights-1")
        kept = self.new_run("-n", "kept", script="cairn runs log --artifact model.bin --metric acc=0.5@1 >/dev/null")
        self.write("model.bin", "weights-2")
        hidden = self.new_run("-n", "hidden", script="cairn runs log --artifact model.bin >/dev/null")
        self.ok("runs", "delete", hidden)
        os.remove(self.path("model.bin"))
        before = {r: self.show(r) for r in (kept, hidden)}
        self.ok("gc", "--apply")
        for rid in (kept, hidden):
            self.assertTrue(self.in_cache(before[rid]["record"]))
        self.assertEqual(self.artifact_bytes(kept, "model.bin"), "weights-1")
        self.assertEqual(self.artifact_bytes(hidden, "model.bin"), "weights-2")
        r = self.fsck_clean()
        self.assertIn("2 run record(s)", r.stdout)
        # And the records still rebuild the index.
        os.remove(os.path.join(self.cairn_dir, "state.db"))
        self.ok("reindex")
        self.assertEqual({r: self.show(r) for r in (kept, hidden)}, before)
        self.assertEqual([(p["step"], p["value"]) for p in self.history(kept, "acc")], [(1, 0.5)])


# ---------------------------------------------------------------------------------------------
class Signals(TrackingTestCase):

    def start_and_wait_running(self, *args, env=None):
        p = self.spawn("run", *args, env=env)

        def running():
            rs = [r for r in self.runs() if r["status"] == "RUNNING"]
            return rs[0] if rs else None
        run = wait_for(running, timeout=15, what="a RUNNING run")
        self.assertIsNone(run["end_time"])
        self.assertIsNone(run["exit_code"])
        return p, run["id"]

    def kill_child_later(self, pidfile):
        def cleanup():
            try:
                with open(self.path(pidfile)) as f:
                    kill_pid(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        self.addCleanup(cleanup)

    def test_sigterm_plain_sleep(self):
        p, rid = self.start_and_wait_running("-n", "sleeper", "--", "sleep", "30")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assertRegex(err, r"run %s KILLED" % rid)
        d = self.show(rid)
        self.assertEqual((d["status"], d["exit_code"]), ("KILLED", 128 + signal.SIGTERM))
        self.assertIsInstance(d["end_time"], int)
        self.assertTrue(os.path.exists(self.run_ref(rid)))

    def test_sigterm_is_forwarded_to_the_command(self):
        script = ("trap 'cairn runs log --tag got=TERM >/dev/null; exit 143' TERM\n"
                  "sleep 30 & echo $! > sleep.pid\n"
                  "cairn runs log --metric ready=1 >/dev/null\n"
                  "wait\n")
        self.write("trap.sh", script)
        self.kill_child_later("sleep.pid")
        p, rid = self.start_and_wait_running("-n", "trapper", "--", "sh", "trap.sh")
        wait_for(lambda: "ready" in self.show(rid)["metrics"], what="the command to be ready")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 143, err)
        d = self.show(rid)
        self.assertEqual(d["status"], "KILLED")
        self.assertEqual(d["tags"].get("got"), "TERM", "the command never saw SIGTERM")
        self.assertEqual(d["metrics"]["ready"]["value"], 1)

    def test_sighup(self):
        p, rid = self.start_and_wait_running("-n", "hangup", "--", "sleep", "30")
        p.send_signal(signal.SIGHUP)
        out, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 128 + signal.SIGHUP, err)
        self.assertEqual((self.show(rid)["status"], self.show(rid)["exit_code"]), ("KILLED", 128 + signal.SIGHUP))

    def test_sigint(self):
        p, rid = self.start_and_wait_running("-n", "interrupted", "--", "sleep", "30")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 128 + signal.SIGINT, err)
        d = self.show(rid)
        self.assertEqual((d["status"], d["exit_code"]), ("KILLED", 128 + signal.SIGINT))

    def test_sigkill_of_owner_marks_run_failed(self):
        script = ("echo $$ > child.pid\n"
                  "cairn runs log --param lr=0.1 --metric loss=0.5@1 --metric loss=0.25@2 --tag t=x >/dev/null\n"
                  "exec sleep 30\n")
        self.write("job.sh", script)
        self.kill_child_later("child.pid")
        p, rid = self.start_and_wait_running("-p", "k=3", "-n", "victim", "--", "sh", "job.sh")
        wait_for(lambda: self.show(rid)["metrics"].get("loss", {}).get("step") == 2, what="the metrics")
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=15)
        self.assertEqual(p.returncode, -signal.SIGKILL)

        listed = {r["id"]: r for r in self.runs()}  # the next `cairn runs` notices the dead owner
        self.assertEqual(listed[rid]["status"], "FAILED")
        d = self.show(rid)
        self.assertEqual(d["status"], "FAILED")
        self.assertIsInstance(d["end_time"], int)
        self.assertEqual(d["params"], {"k": "3", "lr": "0.1"})
        self.assertEqual(d["tags"].get("t"), "x")
        self.assertIn("cairn.end_reason", d["tags"])
        self.assertTrue(d["tags"]["cairn.end_reason"])
        self.assertEqual([(x["step"], x["value"]) for x in self.history(rid, "loss")], [(1, 0.5), (2, 0.25)])
        # It is ended now: no more metrics, but tags still work.
        self.fails("runs", "log", "--run", rid, "--metric", "loss=0.1@3", msg="has ended (FAILED)")
        self.ok("runs", "log", "--run", rid, "--tag", "note=crashed")
        self.assertEqual(self.show(rid)["tags"]["note"], "crashed")
        self.assertEqual(self.names("attributes.status = 'FAILED'"), ["victim"])
        # The reaped run is sealed like any ended run and survives a reindex.
        self.assertTrue(os.path.exists(self.run_ref(rid)))
        before = self.show(rid)
        os.remove(os.path.join(self.cairn_dir, "state.db"))
        self.ok("reindex")
        self.assertEqual(self.show(rid), before)


# ---------------------------------------------------------------------------------------------
class Concurrency(TrackingTestCase):
    N = 60

    def test_two_loggers_on_one_run(self):
        script = ("l() { i=0; while [ $i -lt %d ]; do cairn runs log --metric $1=$i@$i >/dev/null "
                  "|| echo FAIL $1 $i >&2; i=$((i+1)); done; }\n"
                  "l a & l b & wait\n") % self.N
        r, rid = self.run_cmd("--", "sh", "-c", script, env={"CAIRN_LOCK_TIMEOUT": "60"})
        self.assertNotIn("FAIL", r.stderr)
        for key in ("a", "b"):
            h = self.history(rid, key)
            self.assertEqual([(x["step"], x["value"]) for x in h], [(i, i) for i in range(self.N)])
        d = self.show(rid)
        self.assertEqual(d["metrics"]["a"]["step"], self.N - 1)

    def test_two_runs_logging_at_once(self):
        script = ("i=0; while [ $i -lt %d ]; do cairn runs log --metric m=$i@$i >/dev/null "
                  "|| echo FAIL $i >&2; i=$((i+1)); done\n") % self.N
        procs = [self.spawn("run", "-n", name, "--", "sh", "-c", script, env={"CAIRN_LOCK_TIMEOUT": "60"})
                 for name in ("left", "right")]
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            self.assertNotIn("FAIL", err)
        for name in ("left", "right"):
            h = self.history(name, "m")
            self.assertEqual([(x["step"], x["value"]) for x in h], [(i, i) for i in range(self.N)])
            self.assertEqual(self.show(name)["status"], "FINISHED")


# ---------------------------------------------------------------------------------------------
class Reindex(TrackingTestCase):

    def snapshot(self):
        runs = self.runs("--limit", "1000")
        deleted = self.runs("--deleted", "--limit", "1000")
        ids = sorted(r["id"] for r in runs + deleted)
        shows = {i: self.show(i) for i in ids}
        hist = {(i, k): self.history(i, k) for i in ids for k in shows[i]["metrics"]}
        arts = {i: self.json("artifacts", "list", i) for i in ids}
        by_filter = self.names("metrics.acc > 0.6 or tags.kind = 'slow'")
        return {"runs": runs, "deleted": deleted, "shows": shows, "history": hist, "artifacts": arts,
                "filter": by_filter}

    def populate(self):
        self.make_dataset("data/iris", tag="v1")
        self.write("model.bin", "weights")
        self.new_run("-p", "k=1", "-t", "kind=fast", "-e", "knn", "-n", "one",
                     script="cairn runs log --metric acc=0.5@0 --metric acc=0.7@1 --metric loss=nan "
                            "--artifact model.bin:models/m.bin >/dev/null; echo out")
        self.new_run("-i", "data/iris@v1", "-e", "knn", "-n", "two",
                     script="cairn runs log --param k=2 --metric acc=0.9 >/dev/null; exit 5", code=5)
        gone = self.new_run("-n", "gone", "-t", "kind=slow")
        self.ok("runs", "delete", gone)
        self.append("README", "dirty\n")
        self.new_run("-n", "dirty")
        self.ok("runs", "log", "--run", "one", "--tag", "later=yes")
        return gone

    def test_round_trip(self):
        self.populate()
        before = self.snapshot()
        self.assertEqual(len(before["shows"]), 4)
        self.assertEqual(before["filter"], ["one", "two"])
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            p = os.path.join(self.cairn_dir, name)
            if os.path.exists(p):
                os.remove(p)
        r = self.ok("reindex")
        self.assertIn("indexed 4 runs", r.stdout)
        after = self.snapshot()
        self.assertEqual(after, before)
        self.assertEqual(self.artifact_bytes("one", "models/m.bin"), "weights")
        self.assertEqual(self.artifact_bytes("one", "cairn/stdout.log"), "out\n")
        # Reindexing an intact index changes nothing either.
        self.ok("reindex")
        self.assertEqual(self.snapshot(), before)
        self.fsck_clean()

    def test_round_trip_experiments(self):
        self.populate()
        self.ok("experiments", "create", "empty")
        self.ok("experiments", "rename", "knn", "knn-v2")
        self.ok("experiments", "delete", "empty")
        before = self.json("experiments", "--all")
        os.remove(os.path.join(self.cairn_dir, "state.db"))
        self.ok("reindex")
        after = self.json("experiments", "--all")
        strip = lambda es: [{k: v for k, v in e.items() if not (e["name"] == "Default" and k == "created")}
                            for e in es]
        self.assertEqual(strip(after), strip(before))

    def test_reindex_keeps_default_experiment_created_time(self):
        self.new_run("-n", "x")
        before = self.json("experiments", "--all")
        time.sleep(0.05)
        os.remove(os.path.join(self.cairn_dir, "state.db"))
        self.ok("reindex")
        self.assertEqual(self.json("experiments", "--all"), before)

    def test_reindex_keeps_running_run(self):
        self.new_run("-n", "done", script="cairn runs log --metric acc=1 >/dev/null")
        p = self.spawn("run", "-n", "live", "--", "sleep", "30")
        live = wait_for(lambda: [r["id"] for r in self.runs() if r["status"] == "RUNNING"], timeout=15,
                        what="a RUNNING run")[0]
        self.ok("runs", "log", "--run", live, "--metric", "x=1@1")
        r = self.ok("reindex")
        self.assertRegex(r.stdout, r"indexed 1 runs?\b")
        d = self.show(live)
        self.assertEqual(d["status"], "RUNNING")
        self.assertEqual(d["metrics"]["x"]["value"], 1)
        self.ok("runs", "log", "--run", live, "--metric", "x=2@2")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        d = self.show(live)
        self.assertEqual(d["status"], "KILLED")
        self.assertEqual([(x["step"], x["value"]) for x in self.history(live, "x")], [(1, 1), (2, 2)])
        self.assertEqual(self.show("done")["metrics"]["acc"]["value"], 1)


if __name__ == "__main__":
    unittest.main()
