"""The Python module (import cairn): runs, params, metrics, tags, artifacts,
dataset inputs and search, driven from real Python child processes and
checked both from inside the script (JSON on stdout) and with the CLI.

The importable package is $CAIRN_PYTHONPATH, or the 'python' directory
beside $CAIRN_BIN (build/python after a build).
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from cairn_testlib import CAIRN_BIN, OID_RE, CairnTestCase, deterministic_bytes, missing

PYTHONPATH_DIR = os.path.abspath(
    os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))
PYTHON = sys.executable

# Every script starts with this; out(obj) prints one result line the test parses.
PRELUDE = """\
import json, math, os, signal, sys, time
import cairn

def out(obj):
    sys.stdout.write("RESULT " + json.dumps(obj) + "\\n")
    sys.stdout.flush()
"""

RUN_ID_RE = r"^[0-9a-f]{32}$"


class PythonApiTestCase(CairnTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.isdir(os.path.join(PYTHONPATH_DIR, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH_DIR)

    def setUp(self):
        super().setUp()
        self.env["PYTHONPATH"] = PYTHONPATH_DIR
        self.env.pop("PYTHONUNBUFFERED", None)
        self.scripts = os.path.join(self.tmp, "scripts")  # outside the repository: the workspace stays clean
        os.mkdir(self.scripts)
        self.nscripts = 0

    # ---- running Python ---------------------------------------------------------

    def script(self, body, in_repo=False):
        """A script's path: outside the repository, or (in_repo) committed in it under
        code/, so that its runs record the repository's commit and workspace inputs
        (the code's own, doc/mlflow.md "Provenance"; a script outside records neither)."""
        self.nscripts += 1
        directory = self.path("code") if in_repo else self.scripts
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "s%d.py" % self.nscripts)
        with open(path, "w") as f:
            f.write(PRELUDE + textwrap.dedent(body))
        if in_repo:
            self.commit(os.path.relpath(path, self.repo), message="script")
        return path

    def py(self, body, code=0, env=None, timeout=60, in_repo=False):
        """Runs a script (cwd = the repository); asserts its exit code (None: any)."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        r = subprocess.run([PYTHON, self.script(body, in_repo)], cwd=self.repo, env=full_env, capture_output=True,
                           text=True, timeout=timeout)
        if code is not None:
            self.assertEqual(r.returncode, code, "python script: expected exit %s\n%s" % (code, self.describe(r)))
        return r

    def results(self, r):
        return [json.loads(l[len("RESULT "):]) for l in r.stdout.splitlines() if l.startswith("RESULT ")]

    def result(self, r):
        res = self.results(r)
        self.assertTrue(res, "the script printed no RESULT line\n" + self.describe(r))
        return res[-1]

    def pyjson(self, body, **kw):
        return self.result(self.py(body, **kw))

    # ---- the CLI's view -------------------------------------------------------------

    def show(self, run_id):
        return self.json("runs", "show", run_id)

    def runs(self, *args):
        return self.json("runs", *args)

    def history(self, run_id, key):
        return self.json("runs", "history", run_id, key)

    def user_artifacts(self, run):
        """Artifact paths of a run, without those cairn adds itself (cairn/git.diff …)."""
        return sorted(a["path"] for a in run["artifacts"] if not a["path"].startswith("cairn/"))

    def dataset_v1(self):
        """data.csv added and tagged v1; returns (content, version)."""
        content = b"x,y\n1,2\n3,4\n"
        self.write("data.csv", content)
        version = self.add1("data.csv")["version"]
        self.ok("tag", "data.csv", "v1")
        return content, version


class Basics(PythonApiTestCase):

    def test_import(self):
        res = self.pyjson("""
            out({"file": cairn.__file__, "error_is_exception": issubclass(cairn.CairnError, Exception),
                 "missing": [n for n in cairn.__all__ if not hasattr(cairn, n)],
                 "active": repr(cairn.active_run())})
        """)
        self.assertEqual(os.path.realpath(os.path.dirname(os.path.dirname(res["file"]))),
                         os.path.realpath(PYTHONPATH_DIR))
        self.assertTrue(res["error_is_exception"])
        self.assertEqual(res["missing"], [])
        self.assertEqual(res["active"], "None")
        self.assertEqual(self.runs(), [], "importing must not start a run")

    def test_context_manager_finishes_with_params(self):
        res = self.pyjson("""
            cairn.set_experiment("iris")
            with cairn.start_run(name="knn-5", params={"lr": 0.1, "k": 5, "model": "knn", "big": 1e-05}) as run:
                inside = {"id": run.id, "active": cairn.active_run().id, "status": run.info.status}
                try:
                    cairn.start_run()
                    nested_error = None
                except cairn.CairnError as e:
                    nested_error = str(e)
            r = cairn.get_run(run.id)
            out({"inside": inside, "nested_error": nested_error, "status": r.status, "params": r.params,
                 "name": r.name, "experiment": r.experiment, "end_time": r.end_time,
                 "active_after": repr(cairn.active_run())})
        """)
        rid = res["inside"]["id"]
        self.assertRegex(rid, RUN_ID_RE)
        self.assertEqual(res["inside"]["active"], rid)
        self.assertEqual(res["inside"]["status"], "RUNNING")
        self.assertIn("already active", res["nested_error"])
        self.assertEqual(res["status"], "FINISHED")
        params = {"lr": "0.1", "k": "5", "model": "knn", "big": "1e-05"}
        self.assertEqual(res["params"], params)
        self.assertEqual((res["name"], res["experiment"]), ("knn-5", "iris"))
        self.assertIsInstance(res["end_time"], int)
        self.assertEqual(res["active_after"], "None")
        # The CLI agrees.
        run = self.show(rid)
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual(run["params"], params)
        self.assertEqual(run["name"], "knn-5")
        self.assertEqual(run["experiment"], "iris")
        self.assertIsNotNone(run["end_time"])
        self.assertRegex(run["record"], OID_RE)  # sealed
        listed = self.runs("-e", "iris")
        self.assertEqual([r["id"] for r in listed], [rid])
        self.assertEqual(listed[0]["status"], "FINISHED")

    def test_exception_in_with_fails_and_propagates(self):
        res = self.pyjson("""
            try:
                with cairn.start_run(name="bad") as run:
                    cairn.log_metric("m", 1.0)
                    raise ValueError("boom")
            except ValueError as e:
                caught = str(e)
            else:
                caught = None
            out({"id": run.id, "caught": caught, "status": cairn.get_run(run.id).status})
        """)
        self.assertEqual(res["caught"], "boom")
        self.assertEqual(res["status"], "FAILED")
        run = self.show(res["id"])
        self.assertEqual(run["status"], "FAILED")
        self.assertEqual(run["metrics"]["m"]["value"], 1.0)  # what was logged before the error is kept

    def test_uncaught_exception_fails_the_run_and_the_script(self):
        r = self.py("""
            with cairn.start_run(name="bad") as run:
                out({"id": run.id})
                raise RuntimeError("uncaught boom")
        """, code=1)
        self.assertIn("RuntimeError: uncaught boom", r.stderr)
        self.assertEqual(self.show(self.result(r)["id"])["status"], "FAILED")

    def test_keyboard_interrupt_kills_the_run(self):
        res = self.pyjson("""
            try:
                with cairn.start_run() as run:
                    raise KeyboardInterrupt()
            except KeyboardInterrupt:
                caught = True
            out({"id": run.id, "caught": caught, "status": cairn.get_run(run.id).status})
        """)
        self.assertTrue(res["caught"])
        self.assertEqual(res["status"], "KILLED")
        self.assertEqual(self.show(res["id"])["status"], "KILLED")
        # Uncaught, from a real SIGINT: the interpreter dies of SIGINT, the run is KILLED.
        r = self.py("""
            with cairn.start_run() as run:
                out({"id": run.id})
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(10)
        """, code=-signal.SIGINT)
        self.assertEqual(self.show(self.result(r)["id"])["status"], "KILLED")

    def test_get_run_unknown_id_raises(self):
        res = self.pyjson("""
            errors = {}
            for ref in ["0" * 32, "abcdef", "no-such-run"]:
                try:
                    cairn.get_run(ref)
                    errors[ref] = None
                except cairn.CairnError as e:
                    errors[ref] = str(e)
            try:
                cairn.get_metric_history("0" * 32, "loss")
                errors["history"] = None
            except cairn.CairnError as e:
                errors["history"] = str(e)
            out(errors)
        """)
        for ref, msg in res.items():
            self.assertIsNotNone(msg, "%s: no error" % ref)
            self.assertIn("no run", msg)
        self.assertIn("'00000000000000000000000000000000'", res["0" * 32])
        self.assertEqual(self.runs(), [], "failed lookups must not start a run")


class ParamsMetricsTags(PythonApiTestCase):

    def test_params_are_write_once(self):
        res = self.pyjson("""
            with cairn.start_run() as run:
                returned = cairn.log_param("lr", 0.01)
                cairn.log_param("lr", 0.01)            # same value: fine
                cairn.log_params({"layers": 3, "opt": "adam", "lr": 0.01})
                errors = []
                for call in (lambda: cairn.log_param("lr", 0.02),
                             lambda: cairn.log_params({"fresh": "1", "layers": 4})):
                    try:
                        call()
                        errors.append(None)
                    except cairn.CairnError as e:
                        errors.append(str(e))
                params = cairn.get_run(run.id).params
            out({"id": run.id, "returned": returned, "errors": errors, "params": params})
        """)
        self.assertEqual(res["returned"], 0.01)
        e_lr, e_layers = res["errors"]
        self.assertIsNotNone(e_lr, "changing a param must raise")
        self.assertIn("write-once", e_lr)
        self.assertIn("lr", e_lr)
        self.assertIn("0.02", e_lr)
        self.assertIsNotNone(e_layers)
        self.assertIn("write-once", e_layers)
        expected = {"lr": "0.01", "layers": "3", "opt": "adam"}  # the failed batch wrote nothing ('fresh')
        self.assertEqual(res["params"], expected)
        run = self.show(res["id"])
        self.assertEqual(run["params"], expected)
        self.assertEqual(run["status"], "FINISHED")

    def test_metrics_steps_and_history(self):
        res = self.pyjson("""
            with cairn.start_run() as run:
                cairn.log_metric("loss", 0.9)                       # step 0
                cairn.log_metric("loss", 0.5, step=1)
                cairn.log_metric("loss", 0.25, step=2)
                cairn.log_metric("loss", 0.7, step=1)               # a late point: not the latest
                cairn.log_metric("loss", 0.125, step=3, timestamp=1234)
                cairn.log_metrics({"acc": 0.75, "f1": 0.5}, step=7)
                cairn.log_metrics({"acc": 0.8})                     # step 0: older than step 7
                hist = cairn.get_metric_history(run.id, "loss")
                kinds = [[type(x).__name__ for x in p] for p in hist]
            r = cairn.get_run(run.id)
            try:
                cairn.get_metric_history(run.id, "nope")
                missing = None
            except cairn.CairnError as e:
                missing = str(e)
            out({"id": run.id, "hist": hist, "is_tuple": [type(p) is tuple for p in hist], "kinds": kinds,
                 "metrics": r.metrics, "steps": {k: m["step"] for k, m in r.to_dict()["metrics"].items()},
                 "acc_hist": cairn.get_metric_history(run.id, "acc"), "missing": missing})
        """)
        hist = res["hist"]
        self.assertTrue(all(res["is_tuple"]), hist)
        self.assertEqual(res["kinds"], [["int", "float", "int"]] * 5)
        self.assertEqual([(s, v) for s, v, _ in hist], [(0, 0.9), (1, 0.5), (2, 0.25), (1, 0.7), (3, 0.125)])
        self.assertEqual(hist[4][2], 1234)
        now_ms = int(time.time() * 1000)
        for _, _, ts in hist[:4]:
            self.assertLess(abs(ts - now_ms), 120_000, "timestamps are epoch milliseconds")
        self.assertEqual(res["metrics"], {"loss": 0.125, "acc": 0.75, "f1": 0.5})
        self.assertEqual(res["steps"], {"loss": 3, "acc": 7, "f1": 7})
        self.assertEqual([(s, v) for s, v, _ in res["acc_hist"]], [(7, 0.75), (0, 0.8)])
        self.assertIn("no metric 'nope'", res["missing"])
        # The CLI agrees.
        run = self.show(res["id"])
        self.assertEqual({k: run["metrics"]["loss"][k] for k in ("value", "step", "timestamp")},
                         {"value": 0.125, "step": 3, "timestamp": 1234})
        self.assertEqual((run["metrics"]["acc"]["value"], run["metrics"]["acc"]["step"]), (0.75, 7))
        cli = self.history(res["id"], "loss")
        self.assertEqual([(p["step"], p["value"], p["timestamp"]) for p in cli], [tuple(p) for p in hist])

    def test_nan_and_inf(self):
        res = self.pyjson("""
            with cairn.start_run() as run:
                cairn.log_metric("nan", float("nan"))
                cairn.log_metric("inf", float("inf"), step=1)
                cairn.log_metric("ninf", float("-inf"), step=2)
                cairn.log_metric("mixed", 1.0, step=0)
                cairn.log_metric("mixed", float("nan"), step=1)
                cairn.log_metric("mixed", float("inf"), step=2)
            r = cairn.get_run(run.id)
            m = r.metrics
            h = cairn.get_metric_history(run.id, "mixed")
            out({"id": run.id, "types": {k: type(v).__name__ for k, v in m.items()},
                 "metrics": {k: repr(v) for k, v in m.items()},
                 "mixed": [[s, repr(v)] for s, v, _ in h],
                 "nan_hist": [repr(v) for _, v, _ in cairn.get_metric_history(run.id, "nan")]})
        """)
        self.assertEqual(set(res["types"].values()), {"float"})
        self.assertEqual(res["metrics"], {"nan": "nan", "inf": "inf", "ninf": "-inf", "mixed": "inf"})
        self.assertEqual(res["mixed"], [[0, "1.0"], [1, "nan"], [2, "inf"]])
        self.assertEqual(res["nan_hist"], ["nan"])
        run = self.show(res["id"])
        self.assertEqual({k: m["value"] for k, m in run["metrics"].items()},
                         {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "mixed": "Infinity"})
        self.assertEqual([p["value"] for p in self.history(res["id"], "mixed")], [1.0, "NaN", "Infinity"])
        # The sealed record keeps them too: rebuild the index from it and read again.
        self.ok("reindex")
        res2 = self.pyjson("""
            rid = %r
            out({"metrics": {k: repr(v) for k, v in cairn.get_run(rid).metrics.items()},
                 "mixed": [repr(v) for _, v, _ in cairn.get_metric_history(rid, "mixed")]})
        """ % res["id"])
        self.assertEqual(res2["metrics"], res["metrics"])
        self.assertEqual(res2["mixed"], ["1.0", "nan", "inf"])

    def test_tags(self):
        res = self.pyjson("""
            with cairn.start_run(tags={"origin": "start"}) as run:
                cairn.set_tag("stage", "dev")
                cairn.set_tags({"stage": "prod", "team": "ml", "n": 3})
            out({"id": run.id, "tags": cairn.get_run(run.id).tags})
        """)
        want = {"origin": "start", "stage": "prod", "team": "ml", "n": "3"}
        self.assertEqual({k: v for k, v in res["tags"].items() if not k.startswith("cairn.")}, want)
        tags = self.show(res["id"])["tags"]
        self.assertEqual({k: v for k, v in tags.items() if not k.startswith("cairn.")}, want)


class Artifacts(PythonApiTestCase):

    def test_log_artifact_and_get_it_back(self):
        data = deterministic_bytes(300_000, seed=5)
        self.write("model.bin", data)
        self.write("sub/dir/weights.pt", b"weights\n")
        res = self.pyjson("""
            with cairn.start_run() as run:
                a = cairn.log_artifact("model.bin")
                b = cairn.log_artifact("model.bin", artifact_path="models/best")
                c = cairn.log_artifact(os.path.abspath("sub/dir/weights.pt"))
            out({"id": run.id, "returned": [a, b, c], "artifacts": cairn.get_run(run.id).artifacts})
        """)
        self.assertEqual(res["returned"], [["model.bin"], ["models/best/model.bin"], ["weights.pt"]])
        arts = {a["path"]: a for a in res["artifacts"]}
        self.assertEqual(arts["model.bin"]["size"], len(data))
        self.assertEqual(arts["model.bin"]["oid"], arts["models/best/model.bin"]["oid"])
        run = self.show(res["id"])
        self.assertEqual(self.user_artifacts(run), ["model.bin", "models/best/model.bin", "weights.pt"])
        out = os.path.join(self.tmp, "out.bin")
        self.ok("artifacts", "get", res["id"], "model.bin", "-o", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        self.ok("artifacts", "get", res["id"], "models/best/model.bin", "-o", out + "2")
        with open(out + "2", "rb") as f:
            self.assertEqual(f.read(), data)

    def test_log_artifact_refusals(self):
        outside = os.path.join(self.tmp, "outside")
        os.mkdir(outside)
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("secret\n")
        os.symlink(outside, self.path("ext"))  # a directory symlink leaving the repository
        self.write("ok.txt", "fine\n")
        self.write("dir/a.txt", "a\n")
        res = self.pyjson("""
            outside = %r
            errors = {}
            calls = {
                "via_symlink": lambda: cairn.log_artifact("ext/secret.txt"),
                "missing": lambda: cairn.log_artifact("nope.txt"),
                "dotdot": lambda: cairn.log_artifact("ok.txt", artifact_path="../escape"),
                "dotdot_mid": lambda: cairn.log_artifact("ok.txt", artifact_path="a/../../b"),
                "dir_dotdot": lambda: cairn.log_artifacts("dir", artifact_path=".."),
                "dir_dotdot2": lambda: cairn.log_artifacts("dir", artifact_path="x/../.."),
                "cairn_dir": lambda: cairn.log_artifact(".cairn/config"),
            }
            with cairn.start_run() as run:
                for name, call in calls.items():
                    try:
                        errors[name] = "no error: %%r" %% (call(),)
                    except cairn.CairnError as e:
                        errors[name] = "CairnError: " + str(e)
                    except Exception as e:
                        errors[name] = "%%s: %%s" %% (type(e).__name__, e)
            out({"id": run.id, "errors": errors})
        """ % outside)
        errors = res["errors"]
        for name, msg in errors.items():
            self.assertTrue(msg.startswith("CairnError: "), "%s: %s" % (name, msg))
        self.assertIn("symlink", errors["via_symlink"])
        self.assertIn("does not exist", errors["missing"])
        for name in ("dotdot", "dotdot_mid", "dir_dotdot", "dir_dotdot2"):
            self.assertIn("'..'", errors[name], name)
        self.assertIn(".cairn/", errors["cairn_dir"])
        run = self.show(res["id"])
        self.assertEqual(self.user_artifacts(run), [], "a refused artifact must not be recorded")
        self.assertEqual(run["status"], "FINISHED")

    def test_log_artifact_from_outside_the_repository_is_copied(self):
        outside = os.path.join(self.tmp, "outside")
        os.makedirs(os.path.join(outside, "dir", "sub"))
        data = deterministic_bytes(70_000, seed=9)
        for rel, content in (("model.bin", data), ("dir/a.txt", b"a\n"), ("dir/sub/b.txt", b"b\n")):
            with open(os.path.join(outside, rel), "wb") as f:
                f.write(content)
        res = self.pyjson("""
            outside = %r
            with cairn.start_run() as run:
                a = cairn.log_artifact(os.path.join(outside, "model.bin"), artifact_path="models")
                b = cairn.log_artifact("../outside/model.bin")
                c = cairn.log_artifacts(os.path.join(outside, "dir"), artifact_path="d")
                try:
                    cairn.log_artifact(os.path.join(outside, "nope"))
                    missing = None
                except cairn.CairnError as e:
                    missing = str(e)
            out({"id": run.id, "returned": [a, b, c], "missing": missing})
        """ % outside)
        self.assertEqual(res["returned"], [["models/model.bin"], ["model.bin"], ["d/a.txt", "d/sub/b.txt"]])
        self.assertIn("does not exist", res["missing"])
        run = self.show(res["id"])
        self.assertEqual(self.user_artifacts(run), ["d/a.txt", "d/sub/b.txt", "model.bin", "models/model.bin"])
        os.remove(os.path.join(outside, "model.bin"))  # copied, not referenced
        dest = os.path.join(self.tmp, "back.bin")
        self.ok("artifacts", "get", res["id"], "models/model.bin", "-o", dest)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_log_artifacts_directory(self):
        self.write("outdir/a.txt", "alpha\n")
        self.write("outdir/sub/b.bin", deterministic_bytes(5000, seed=2))
        self.write("outdir/sub/deeper/c.txt", "")
        res = self.pyjson("""
            with cairn.start_run() as run:
                a = cairn.log_artifacts("outdir")
                b = cairn.log_artifacts("outdir/", artifact_path="plots")
            out({"id": run.id, "a": a, "b": b})
        """)
        # MLflow's meaning: without artifact_path the directory's contents go to the artifact root.
        self.assertEqual(res["a"], ["a.txt", "sub/b.bin", "sub/deeper/c.txt"])
        self.assertEqual(res["b"], ["plots/a.txt", "plots/sub/b.bin", "plots/sub/deeper/c.txt"])
        run = self.show(res["id"])
        self.assertEqual(self.user_artifacts(run), sorted(res["a"] + res["b"]))
        dest = os.path.join(self.tmp, "restored")
        self.ok("artifacts", "get", res["id"], "plots", "-o", dest)
        for rel in ("a.txt", "sub/b.bin", "sub/deeper/c.txt"):
            with open(os.path.join(dest, rel), "rb") as f:
                self.assertEqual(f.read(), self.read("outdir/" + rel), rel)


class Datasets(PythonApiTestCase):

    def test_use_dataset_tag_in_workspace(self):
        content, version = self.dataset_v1()
        res = self.pyjson("""
            with cairn.start_run() as run:
                p = cairn.use_dataset("data.csv@v1")
                with open(p, "rb") as f:
                    data = f.read().decode()
                inputs = cairn.get_run(run.id).inputs
            out({"id": run.id, "path": p, "data": data, "inputs": inputs})
        """)
        self.assertEqual(res["data"].encode(), content)
        # The workspace holds exactly that version: its path is returned.
        self.assertEqual(os.path.realpath(res["path"]), os.path.realpath(self.path("data.csv")))
        explicit = [i for i in res["inputs"] if i["source"] == "explicit"]
        self.assertEqual(explicit, [{"dataset": "data.csv", "tag": "v1", "version": version, "source": "explicit",
                                     "modified": False}])
        cli = [i for i in self.show(res["id"])["inputs"] if i["source"] == "explicit"]
        self.assertEqual(cli, explicit)

    def test_start_run_warns_when_a_workspace_input_is_modified(self):
        self.dataset_v1()
        self.append("data.csv", "5,6\n")
        # The script lies in the repository: its workspace inputs are recorded.
        script = self.script("""
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with cairn.start_run() as run:
                    pass
            out({"id": run.id, "warnings": [(w.category.__name__, str(w.message)) for w in caught]})
        """)
        os.rename(script, self.path("train.py"))
        r = subprocess.run([PYTHON, "train.py"], cwd=self.repo, env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, self.describe(r))
        res = self.result(r)
        self.assertEqual(res["warnings"], [["RuntimeWarning", "cairn: data.csv differs from its pointer's version v1 "
                                            "(see 'cairn status'): the run records that version as modified"]])
        self.assertTrue(self.show(res["id"])["inputs"][0]["modified"])

    def test_use_dataset_old_version_is_materialised(self):
        old, v1 = self.dataset_v1()
        self.write("data.csv", b"x,y\n9,9\n")
        v2 = self.add1("data.csv")["version"]
        self.assertNotEqual(v1, v2)
        res = self.pyjson("""
            with cairn.start_run(inputs=["data.csv@v1"]) as run:
                p1 = cairn.use_dataset("data.csv@v1")
                again = cairn.use_dataset("data.csv@v1")
                latest = cairn.use_dataset("data.csv")
                read = lambda p: open(p, "rb").read().decode()
                out({"id": run.id, "p1": p1, "again": again, "latest": latest, "d1": read(p1),
                     "dlatest": read(latest), "inputs": cairn.get_run(run.id).inputs})
        """)
        self.assertEqual(res["d1"].encode(), old)
        self.assertNotEqual(os.path.realpath(res["p1"]), os.path.realpath(self.path("data.csv")))
        datasets = os.path.realpath(os.path.join(self.cairn_dir, "datasets")) + os.sep
        self.assertTrue(os.path.realpath(res["p1"]).startswith(datasets), res["p1"])
        self.assertEqual(res["again"], res["p1"])
        self.assertEqual(os.path.realpath(res["latest"]), os.path.realpath(self.path("data.csv")))
        self.assertEqual(res["dlatest"], "x,y\n9,9\n")
        self.assertEqual(self.read("data.csv"), b"x,y\n9,9\n", "the workspace must not change")
        explicit = sorted((i["version"], i["tag"]) for i in res["inputs"] if i["source"] == "explicit")
        self.assertEqual(explicit, sorted([(v1, "v1"), (v2, "")]))
        cli = sorted((i["version"], i["tag"]) for i in self.show(res["id"])["inputs"] if i["source"] == "explicit")
        self.assertEqual(cli, explicit)
        self.fsck_clean()

    def test_use_dataset_note_on_a_changed_copy_is_a_warning(self):
        old, v1 = self.dataset_v1()
        self.write("data.csv", b"x,y\n9,9\n")
        self.add1("data.csv")
        res = self.pyjson("""
            import stat, warnings
            with cairn.start_run() as run:
                p = cairn.use_dataset("data.csv@v1")
                os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)
                with open(p, "ab") as f:
                    f.write(b"tampered\\n")
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    again = cairn.use_dataset("data.csv@v1")
                    quiet = cairn.use_dataset("data.csv@v1")
            out({"same": again == p, "data": open(again, "rb").read().decode(),
                 "warnings": [[w.category.__name__, str(w.message)] for w in caught]})
        """)
        self.assertTrue(res["same"])
        self.assertEqual(res["data"].encode(), old)
        self.assertEqual(len(res["warnings"]), 1, res["warnings"])
        category, message = res["warnings"][0]
        self.assertEqual(category, "RuntimeWarning")
        self.assertIn("the copy of data.csv@" + v1.split(":", 1)[1][:12], message)
        self.assertIn("was changed after it was made; it is made again from the cache", message)

    def test_use_dataset_with_dirty_workspace_returns_the_version(self):
        old, v1 = self.dataset_v1()
        self.write("data.csv", b"edited but not added\n")
        res = self.pyjson("""
            with cairn.start_run() as run:
                p = cairn.use_dataset("data.csv@v1")
                out({"path": p, "data": open(p, "rb").read().decode()})
        """)
        self.assertEqual(res["data"].encode(), old)
        self.assertNotEqual(os.path.realpath(res["path"]), os.path.realpath(self.path("data.csv")))

    def test_use_dataset_unknown_ref_raises(self):
        self.dataset_v1()
        res = self.pyjson("""
            with cairn.start_run() as run:
                try:
                    cairn.use_dataset("data.csv@v9")
                    err = None
                except cairn.CairnError as e:
                    err = str(e)
            out({"id": run.id, "err": err})
        """)
        self.assertIsNotNone(res["err"])
        self.assertIn("v9", res["err"])
        self.assertEqual([i for i in self.show(res["id"])["inputs"] if i["source"] == "explicit"], [])


class Search(PythonApiTestCase):

    def make_runs(self):
        self.dataset_v1()
        res = self.pyjson("""
            ids = {}
            cairn.set_experiment("grid")
            for k, acc in ((1, 0.7), (3, 0.9), (5, 0.95)):
                with cairn.start_run(name="k%d" % k, params={"k": k}, tags={"team": "a" if k < 5 else "b"}) as run:
                    cairn.log_metric("acc", acc)
                    if k == 5:
                        cairn.use_dataset("data.csv@v1")
                ids[k] = run.id
            with cairn.start_run(name="other", experiment="elsewhere", params={"k": 9}) as run:
                cairn.log_metric("acc", 0.99)
            ids[9] = run.id
            out(ids)
        """)
        return {int(k): v for k, v in res.items()}

    def test_search_runs(self):
        ids = self.make_runs()
        res = self.pyjson("""
            def ids(runs):
                return [r.id for r in runs]
            s = {}
            s["gt"] = ids(cairn.search_runs("grid", filter="metrics.acc > 0.8", order_by=["metrics.acc DESC"]))
            s["limit"] = ids(cairn.search_runs("grid", filter="metrics.acc > 0.8", order_by=["metrics.acc DESC"],
                                               max_results=1))
            s["or"] = ids(cairn.search_runs(filter="params.k = '1' or params.k = '9'", order_by="metrics.acc ASC"))
            s["or_paren"] = ids(cairn.search_runs(experiment_names=["grid"],
                                                  filter="metrics.acc < 0.8 or (tags.team = 'b' and params.k = '5')",
                                                  order_by=["metrics.acc"]))
            s["all"] = ids(cairn.search_runs(filter="", order_by=["metrics.acc DESC"]))
            s["both_exps"] = ids(cairn.search_runs(["grid", "elsewhere"], order_by=["metrics.acc ASC"]))
            s["none"] = ids(cairn.search_runs(filter="metrics.acc > 2"))
            best = cairn.search_runs("grid", order_by=["metrics.acc DESC"], max_results=1)[0]
            s["best"] = {"id": best.id, "name": best.name, "status": best.status, "params": best.params,
                         "metrics": best.metrics, "tags": best.tags, "experiment": best.experiment,
                         "types": [type(best.params).__name__, type(best.metrics).__name__,
                                   type(best.tags).__name__, type(best.inputs).__name__,
                                   type(best.env).__name__],
                         "repr": repr(best)}
            out(s)
        """)
        self.assertEqual(res["gt"], [ids[5], ids[3]])
        self.assertEqual(res["limit"], [ids[5]])
        self.assertEqual(res["or"], [ids[1], ids[9]])
        self.assertEqual(res["or_paren"], [ids[1], ids[5]])
        self.assertEqual(res["all"], [ids[9], ids[5], ids[3], ids[1]])
        self.assertEqual(res["both_exps"], [ids[1], ids[3], ids[5], ids[9]])
        self.assertEqual(res["none"], [])
        best = res["best"]
        self.assertEqual(best["id"], ids[5])
        self.assertEqual((best["name"], best["status"], best["experiment"]), ("k5", "FINISHED", "grid"))
        self.assertEqual(best["params"], {"k": "5"})
        self.assertEqual(best["metrics"], {"acc": 0.95})
        self.assertEqual({k: v for k, v in best["tags"].items() if not k.startswith("cairn.")}, {"team": "b"})
        self.assertEqual(best["types"], ["dict", "dict", "dict", "list", "dict"])
        self.assertIn(ids[5][:8], best["repr"])
        # The CLI finds the same runs in the same order.
        cli = self.runs("-e", "grid", "--where", "metrics.acc > 0.8", "--sort", "metrics.acc DESC")
        self.assertEqual([r["id"] for r in cli], res["gt"])
        cli = self.runs("--where", "params.k = '1' or params.k = '9'", "--sort", "metrics.acc ASC")
        self.assertEqual([r["id"] for r in cli], res["or"])

    def test_search_runs_run_objects_have_inputs_and_env(self):
        ids = self.make_runs()
        res = self.pyjson("""
            best = cairn.search_runs("grid", order_by=["metrics.acc DESC"], max_results=1)[0]
            full = cairn.get_run(best.id)
            out({"id": best.id, "inputs": best.inputs, "env_keys": sorted(best.env),
                 "full_inputs": full.inputs, "full_env_keys": sorted(full.env),
                 "commit": best.env.get("git.commit"), "full_commit": full.env.get("git.commit")})
        """)
        self.assertEqual(res["id"], ids[5])
        self.assertTrue(any(i["source"] == "explicit" and i["tag"] == "v1" for i in res["full_inputs"]))
        self.assertIn("os.kernel", res["full_env_keys"])
        self.assertEqual(res["inputs"], res["full_inputs"])
        self.assertEqual(res["env_keys"], res["full_env_keys"])
        self.assertEqual(res["commit"], res["full_commit"])

    def test_malformed_filter_raises(self):
        res = self.pyjson("""
            errors = {}
            for f in ["metrics.acc >> 1", "bogus.x = 1", "metrics.acc > 0.9 or (params.k = '3'"]:
                try:
                    cairn.search_runs(filter=f)
                    errors[f] = None
                except cairn.CairnError as e:
                    errors[f] = str(e)
            try:
                cairn.search_runs(order_by=["metrics.acc SIDEWAYS"])
                errors["order"] = None
            except cairn.CairnError as e:
                errors["order"] = str(e)
            out(errors)
        """)
        self.assertIn("at column 14", res["metrics.acc >> 1"])
        self.assertIn("at column 1", res["bogus.x = 1"])
        self.assertIn("unknown prefix 'bogus'", res["bogus.x = 1"])
        self.assertIn("unbalanced '('", res["metrics.acc > 0.9 or (params.k = '3'"])
        self.assertIn("column", res["metrics.acc > 0.9 or (params.k = '3'"])
        self.assertIn("at column 13", res["order"])


class Lifecycle(PythonApiTestCase):

    def test_auto_start_ends_finished_at_exit(self):
        res = self.pyjson("""
            cairn.log_metric("x", 1.5)
            cairn.log_param("p", "v")
            out({"id": cairn.active_run().id, "status": cairn.get_run(cairn.active_run().id).status})
        """)
        self.assertEqual(res["status"], "RUNNING")
        run = self.show(res["id"])
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual(run["metrics"]["x"]["value"], 1.5)
        self.assertEqual(run["params"], {"p": "v"})
        self.assertEqual(run["experiment"], "Default")
        self.assertEqual([r["id"] for r in self.runs()], [res["id"]])

    def test_auto_started_run_fails_on_uncaught_exception(self):
        r = self.py("""
            cairn.log_metric("x", 1.0)
            out({"id": cairn.active_run().id})
            raise SystemError("died")
        """, code=1)
        run = self.show(self.result(r)["id"])
        self.assertEqual(run["status"], "FAILED")
        self.assertEqual(run["metrics"]["x"]["value"], 1.0)

    def test_experiment_from_environment(self):
        res = self.pyjson("""
            with cairn.start_run() as run:
                pass
            out({"id": run.id})
        """, env={"CAIRN_EXPERIMENT": "from-env"})
        self.assertEqual(self.show(res["id"])["experiment"], "from-env")

    def crash_after_flush(self, how):
        r = self.py("""
            run = cairn.start_run(name="crash")
            for i in range(1000):
                cairn.log_metric("m", i * 0.5, step=i)
            cairn.flush()
            out({"id": run.id, "pid": os.getpid()})
            %s
            time.sleep(5)
        """ % how, code=None)
        res = self.result(r)
        listed = {x["id"]: x for x in self.runs()}  # the next 'cairn runs' notices the dead process
        self.assertEqual(listed[res["id"]]["status"], "FAILED")
        run = self.show(res["id"])
        self.assertEqual(run["status"], "FAILED")
        self.assertIn("ended without ending the run", run["tags"].get("cairn.end_reason", ""))
        self.assertIn(str(res["pid"]), run["tags"]["cairn.end_reason"])
        self.assertRegex(run["record"], OID_RE)  # sealed
        self.assertEqual(run["metrics"]["m"]["step"], 999)
        text = self.ok("runs", "history", res["id"], "m").stdout.splitlines()
        self.assertEqual(len(text), 1000)
        self.assertEqual([l.split("\t")[:2] for l in text[:3]], [["0", "0"], ["1", "0.5"], ["2", "1"]])
        points = self.history(res["id"], "m")
        self.assertEqual([(p["step"], p["value"]) for p in points], [(i, i * 0.5) for i in range(1000)])
        return r

    def test_crash_after_flush_os_exit(self):
        r = self.crash_after_flush("os._exit(0)")
        self.assertEqual(r.returncode, 0)

    def test_crash_after_flush_sigkill(self):
        r = self.crash_after_flush("os.kill(os.getpid(), signal.SIGKILL)")
        self.assertEqual(r.returncode, -signal.SIGKILL)

    def test_clean_exit_without_flush_loses_nothing(self):
        res = self.pyjson("""
            run = cairn.start_run()          # neither with-block nor end_run nor flush
            for i in range(1000):
                cairn.log_metric("m", float(i), step=i)
                cairn.log_metric("n", -float(i), step=i)
            out({"id": run.id})
        """)
        run = self.show(res["id"])
        self.assertEqual(run["status"], "FINISHED")
        self.assertNotIn("cairn.end_reason", run["tags"])
        for key, sign in (("m", 1), ("n", -1)):
            points = self.history(res["id"], key)
            self.assertEqual([(p["step"], p["value"]) for p in points], [(i, sign * float(i)) for i in range(1000)])

    def test_concurrent_processes_keep_all_points(self):
        go = os.path.join(self.tmp, "go")
        body = """
            with cairn.start_run(name="w%%d" %% WORKER, params={"worker": WORKER}) as run:
                out({"id": run.id})
                while not os.path.exists(%r):
                    time.sleep(0.005)
                for i in range(1500):
                    cairn.log_metric("loss", 1.0 / (i + 1), step=i)
                    if i %% 100 == 0:
                        cairn.log_metrics({"a": i, "b": -i}, step=i)
                    if i %% 500 == 499:
                        cairn.flush()
        """ % go
        env = dict(self.env)
        procs = []
        for w in (1, 2):
            path = self.script(body.replace("WORKER", str(w)))
            procs.append(subprocess.Popen([PYTHON, path], cwd=self.repo, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        time.sleep(0.3)
        open(go, "w").close()
        ids = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, stderr)
            ids.append(json.loads([l for l in stdout.splitlines() if l.startswith("RESULT ")][0][7:])["id"])
        self.assertNotEqual(ids[0], ids[1])
        for w, rid in zip((1, 2), ids):
            run = self.show(rid)
            self.assertEqual(run["status"], "FINISHED")
            self.assertEqual(run["params"], {"worker": str(w)})
            loss = self.history(rid, "loss")
            self.assertEqual([p["step"] for p in loss], list(range(1500)))
            self.assertEqual([p["value"] for p in loss], [1.0 / (i + 1) for i in range(1500)])
            self.assertEqual(len(self.history(rid, "a")), 15)
            self.assertEqual(len(self.history(rid, "b")), 15)

    def test_env(self):
        self.write("README", "hello\n")
        self.commit("README", message="first")
        res = self.pyjson("""
            import platform
            with cairn.start_run() as run:
                pass
            out({"id": run.id, "env": cairn.get_run(run.id).env, "release": platform.release(),
                 "version": platform.python_version(), "cores": os.cpu_count()})
        """, in_repo=True)
        env = res["env"]
        self.assertEqual(env["git.commit"], self.git("rev-parse", "HEAD").stdout.strip())  # with the script
        self.assertEqual(env["git.dirty"], "false")
        self.assertEqual(env["os.kernel"], res["release"])
        self.assertTrue(env["cpu.cores"].isdigit() and int(env["cpu.cores"]) > 0, env["cpu.cores"])
        self.assertEqual(env["python.version"], res["version"])
        self.assertEqual(env["python.implementation"], "cpython")
        self.assertTrue(any(k.startswith("python.packages.") for k in env), sorted(env))
        cli_env = self.show(res["id"])["env"]
        self.assertEqual(cli_env, env)

    def test_client_create_run_records_the_python_environment(self):
        res = self.pyjson("""
            import platform
            client = cairn.MlflowClient()
            run = client.create_run("0")
            client.set_terminated(run.info.run_id)
            out({"id": run.info.run_id, "version": platform.python_version()})
        """)
        env = self.show(res["id"])["env"]
        self.assertEqual(env["python.version"], res["version"])
        self.assertEqual(env["python.implementation"], "cpython")
        self.assertTrue(any(k.startswith("python.packages.") for k in env), sorted(env))
        self.assertIn("os.kernel", env)


class InsideCairnRun(PythonApiTestCase):

    def cairn_run(self, body, *run_args, code=0, settle=True):
        # settle: the script first sleeps 0.3 s so that it outlives the package
        # capture 'cairn run' does beside it (commands that end sooner are
        # covered by test_short_python_command_does_not_hang_cairn_run).
        path = self.script(("time.sleep(0.3)\n" if settle else "") + textwrap.dedent(body))
        try:
            r = self.cairn("run", *run_args, "--", PYTHON, path, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("cairn run -- python3 script.py did not return within 30 s")
        self.assertEqual(r.returncode, code, self.describe(r))
        started = [l for l in r.stderr.splitlines() if l.startswith("cairn: run ") and l.endswith(")")
                   and " started " in l]
        self.assertEqual(len(started), 1, r.stderr)
        cli_id = started[0].split()[2]
        return r, cli_id

    def test_attaches_to_the_cairn_run(self):
        r, cli_id = self.cairn_run("""
            env_id = os.environ["CAIRN_RUN_ID"]
            with cairn.start_run(params={"lr": 0.1}) as run:
                owned = run.owned
                cairn.log_metric("acc", 0.9, step=1)
                cairn.log_param("k", 5)
                cairn.set_tag("t", "v")
            status_after = cairn.get_run(run.id).status   # cairn run ends it, not the with-block
            cairn.log_metric("after", 2.0)                  # still attaches
            out({"id": run.id, "env_id": env_id, "owned": owned, "status_after": status_after,
                 "active": cairn.active_run().id, "version": "%d.%d.%d" % sys.version_info[:3]})
        """, "-e", "pyexp", "-n", "wrapped")
        res = self.result(r)
        self.assertEqual(res["id"], cli_id)
        self.assertEqual(res["env_id"], cli_id)
        self.assertEqual(res["active"], cli_id)
        self.assertFalse(res["owned"])
        self.assertEqual(res["status_after"], "RUNNING")
        listed = self.runs()
        self.assertEqual([x["id"] for x in listed], [cli_id], "Python must not start a run of its own")
        run = self.show(cli_id)
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual(run["exit_code"], 0)
        self.assertEqual((run["experiment"], run["name"]), ("pyexp", "wrapped"))
        self.assertEqual(run["params"], {"lr": "0.1", "k": "5"})
        self.assertEqual(run["metrics"]["acc"]["value"], 0.9)
        self.assertEqual(run["metrics"]["after"]["value"], 2.0)
        self.assertEqual(run["tags"].get("t"), "v")
        self.assertEqual(run["env"]["python.version"], res["version"])
        self.assertTrue(any(k.startswith("python.packages.") for k in run["env"]))
        self.assertIn("cairn/stdout.log", [a["path"] for a in run["artifacts"]])

    def test_start_run_after_logging_returns_the_same_run(self):
        r, cli_id = self.cairn_run("""
            cairn.log_metric("early", 1.0)               # attaches to the cairn run
            with cairn.start_run(params={"x": 1}) as run:  # the same run, not an error
                cairn.log_metric("late", 2.0)
            out({"id": run.id})
        """)
        self.assertEqual(self.result(r)["id"], cli_id)
        run = self.show(cli_id)
        self.assertEqual(run["params"], {"x": "1"})
        self.assertEqual(sorted(run["metrics"]), ["early", "late"])

    def test_exception_in_with_under_cairn_run(self):
        r, cli_id = self.cairn_run("""
            with cairn.start_run() as run:
                cairn.log_metric("m", 3.0)
                out({"id": run.id})
                raise ValueError("inner")
        """, code=1)
        self.assertEqual(self.result(r)["id"], cli_id)
        run = self.show(cli_id)
        self.assertEqual(run["status"], "FAILED")
        self.assertEqual(run["exit_code"], 1)
        self.assertEqual(run["metrics"]["m"]["value"], 3.0)
        self.assertEqual(len(self.runs()), 1)

    def test_auto_attach_without_start_run(self):
        r, cli_id = self.cairn_run("""
            cairn.log_metrics({"a": 1, "b": 2}, step=4)
            out({"id": cairn.active_run().id})
        """)
        self.assertEqual(self.result(r)["id"], cli_id)
        run = self.show(cli_id)
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual({k: (m["value"], m["step"]) for k, m in run["metrics"].items()},
                         {"a": (1.0, 4), "b": (2.0, 4)})

    def test_short_python_command_does_not_hang_cairn_run(self):
        path = os.path.join(self.scripts, "short.py")
        with open(path, "w") as f:
            f.write("import os, time\nos.close(1)\nos.close(2)\ntime.sleep(0.01)\n")
        for i in range(10):
            try:
                r = self.cairn("run", "--", PYTHON, path, timeout=3)
            except subprocess.TimeoutExpired:
                self.fail("cairn run hung after its command exited (attempt %d)" % (i + 1))
            self.assertEqual(r.returncode, 0, self.describe(r))


class DatasetRace(PythonApiTestCase):

    def test_concurrent_use_dataset_of_the_same_version(self):
        files = {}
        for i in range(300):
            files["f%03d.bin" % i] = deterministic_bytes(1500, seed=i)
            self.write("ds/f%03d.bin" % i, files["f%03d.bin" % i])
        rounds, nproc = 4, 3  # four old versions, each fetched by three processes at once
        for n in range(rounds):
            self.write("ds/round.txt", "round %d\n" % n)
            self.add1("ds")
            self.ok("tag", "ds", "r%d" % n)
        self.write("ds/round.txt", "workspace\n")
        self.add1("ds")
        barrier = os.path.join(self.tmp, "barrier")
        os.mkdir(barrier)
        body = """
            barrier, rounds, nproc = %r, %d, %d
            results = []
            with cairn.start_run() as run:
                for n in range(rounds):
                    open(os.path.join(barrier, "%%d-%%d" %% (n, os.getpid())), "w").close()
                    while sum(1 for f in os.listdir(barrier) if f.startswith("%%d-" %% n)) < nproc:
                        time.sleep(0.001)
                    try:
                        p = cairn.use_dataset("ds@r%%d" %% n)
                        results.append({"path": p, "files": sorted(
                            os.path.relpath(os.path.join(d, f), p) for d, _, fs in os.walk(p) for f in fs)})
                    except cairn.CairnError as e:
                        results.append({"error": str(e)})
            out(results)
        """ % (barrier, rounds, nproc)
        path = self.script(body)
        procs = [subprocess.Popen([PYTHON, path], cwd=self.repo, env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(nproc)]
        outputs = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, stderr)
            outputs.append(json.loads([l for l in stdout.splitlines() if l.startswith("RESULT ")][-1][7:]))
        want = sorted(list(files) + ["round.txt"])
        for results in outputs:
            for n, res in enumerate(results):
                self.assertNotIn("error", res, "round %d" % n)
                self.assertEqual(res["files"], want, "round %d: incomplete copy at %s" % (n, res["path"]))
        # What is left in .cairn/datasets is served to every later run: it must be whole.
        res = self.pyjson("""
            with cairn.start_run():
                out([sorted(os.listdir(cairn.use_dataset("ds@r%%d" %% n))) for n in range(%d)])
        """ % rounds)
        self.assertEqual(res, [want] * rounds)

    def test_materialised_copy_is_read_only(self):
        self.dataset_v1()
        self.write("data.csv", b"x,y\n9,9\n")
        self.add1("data.csv")
        res = self.pyjson("""
            import stat
            with cairn.start_run():
                p = cairn.use_dataset("data.csv@v1")
                out({"path": p, "mode": stat.S_IMODE(os.stat(p).st_mode)})
        """)
        self.assertIn(os.sep + "datasets" + os.sep, res["path"])
        self.assertEqual(res["mode"] & 0o222, 0, "mode %o" % res["mode"])


if __name__ == "__main__":
    unittest.main()
