"""MLflow's fluent API and MlflowClient through `import cairn as mlflow`
(doc/mlflow.md): scripts written as for MLflow, checked from inside (JSON on
stdout) and with the CLI. The DataFrame tests run Debian's /usr/bin/python3,
which has pandas (a missing pandas fails them under CI=true).
"""

import json
import os
import shutil
import subprocess
import time
import unittest

from cairn_testlib import EXAMPLES, missing
from test_python_api import PYTHON, PythonApiTestCase

SYSTEM_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_WINE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "mlflow_style", "train_wine.py"))


def has_pandas(python):
    return os.path.exists(python) and subprocess.run(
        [python, "-c", "import pandas"], capture_output=True).returncode == 0


class MlflowTestCase(PythonApiTestCase):

    def mlflow(self, body, python=None, env=None, in_repo=False):
        """Runs a script that starts with `import cairn as mlflow`; returns its last RESULT.
        in_repo: the script is committed in the repository (see PythonApiTestCase.script)."""
        body = "import cairn as mlflow\n" + body
        if python is None:
            return self.pyjson(body, env=env, in_repo=in_repo)
        return self.result(self.py_with(python, body))

    def py_with(self, python, body, code=0):
        r = subprocess.run([python, self.script(body)], cwd=self.repo, env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, code, self.describe(r))
        return r


class Experiments(MlflowTestCase):

    def test_set_create_get_search(self):
        res = self.mlflow("""
import warnings
exp = mlflow.set_experiment("nlp")
again = mlflow.set_experiment("nlp")
by_id = mlflow.set_experiment(experiment_id=exp.experiment_id)
new_id = mlflow.create_experiment("vision")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    tagged = mlflow.create_experiment("tagged", tags={"team": "a"})
got = mlflow.get_experiment(new_id)
try:
    mlflow.get_experiment("999")
    missing_id = None
except mlflow.MlflowException as e:
    missing_id = str(e)
try:
    mlflow.set_experiment()
    neither = None
except mlflow.exceptions.MlflowException as e:
    neither = str(e)
out({"exp": dict(exp), "again": again.experiment_id, "by_id": by_id.name, "new_id": new_id,
     "got": [got.experiment_id, got.name, got.lifecycle_stage], "missing": mlflow.get_experiment_by_name("nope"),
     "by_name": mlflow.get_experiment_by_name("vision").experiment_id, "missing_id": missing_id,
     "neither": neither, "warned": [str(w.message) for w in caught],
     "names": [e.name for e in mlflow.search_experiments()],
     "by_name_order": [e.name for e in mlflow.search_experiments(order_by=["name"])],
     "first": [e.name for e in mlflow.search_experiments(max_results=1, order_by=["experiment_id ASC"])],
     "entity": mlflow.entities.ViewType.ALL, "tracking": mlflow.tracking.MlflowClient is mlflow.MlflowClient})
""")
        exp = res["exp"]
        self.assertEqual(exp["name"], "nlp")
        self.assertRegex(exp["experiment_id"], r"^[1-9][0-9]*$")
        self.assertEqual(exp["artifact_location"], "mlflow-artifacts:/" + exp["experiment_id"])
        self.assertEqual((exp["lifecycle_stage"], exp["tags"]), ("active", {}))
        self.assertLess(abs(exp["creation_time"] - time.time() * 1000), 120_000, "creation_time is epoch ms")
        self.assertEqual(res["again"], exp["experiment_id"], "set_experiment of an existing name must not create")
        self.assertEqual(res["by_id"], "nlp")
        self.assertIsInstance(res["new_id"], str)
        self.assertEqual(res["got"], [res["new_id"], "vision", "active"])
        self.assertIsNone(res["missing"])
        self.assertEqual(res["by_name"], res["new_id"])
        self.assertIn("no experiment with id '999'", res["missing_id"])
        self.assertIn("exactly one of", res["neither"])
        self.assertEqual(res["warned"], [], "experiment tags are kept: nothing to warn about")
        self.assertEqual(res["names"], ["tagged", "vision", "nlp", "Default"])  # newest first
        self.assertEqual(res["by_name_order"], ["Default", "nlp", "tagged", "vision"])
        self.assertEqual(res["first"], ["Default"])
        self.assertEqual(res["entity"], 3)
        self.assertTrue(res["tracking"])
        cli = {e["name"] for e in self.json("experiments")}
        self.assertTrue({"nlp", "vision", "tagged"} <= cli, cli)

    def test_tracking_uri(self):
        os.mkdir(self.path("sub"))
        res = self.mlflow("""
default = mlflow.get_tracking_uri()
mlflow.set_tracking_uri("file:" + os.path.join(os.getcwd(), "sub", "mlruns"))  # need not exist
with mlflow.start_run() as run:
    pass
errors = {}
for uri in ["http://localhost:5000", "sqlite:///mlflow.db"]:
    try:
        mlflow.set_tracking_uri(uri)
        errors[uri] = None
    except mlflow.MlflowException as e:
        errors[uri] = str(e)
out({"default": default, "set": mlflow.get_tracking_uri(), "id": run.info.run_id, "errors": errors})
""")
        self.assertEqual(res["default"], "file://" + os.path.realpath(self.repo))
        self.assertTrue(res["set"].endswith("/sub/mlruns"), res["set"])
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")  # recorded in the enclosing repository
        for uri, msg in res["errors"].items():
            self.assertIsNotNone(msg, uri)
            self.assertIn("not supported", msg)

    def run_from(self, cwd, body, env=None):
        full_env = dict(self.env, **(env or {}))
        r = subprocess.run([PYTHON, self.script("import cairn as mlflow\n" + body)], cwd=cwd, env=full_env,
                           capture_output=True, text=True, timeout=60)
        return r

    def test_tracking_uri_from_a_subdirectory_is_the_repository_root(self):
        os.makedirs(self.path("data/raw"))
        r = self.run_from(self.path("data/raw"), """
before = mlflow.get_tracking_uri()
with mlflow.start_run() as run:
    during = mlflow.get_tracking_uri()
out({"before": before, "during": during, "id": run.info.run_id})
""")
        self.assertEqual(r.returncode, 0, self.describe(r))
        res = self.result(r)
        root = "file://" + os.path.realpath(self.repo)
        self.assertEqual((res["before"], res["during"]), (root, root))
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")

    def test_tracking_uri_from_the_environment_is_returned_as_set(self):
        os.mkdir(self.path("sub"))
        r = self.run_from(self.path("sub"), """
with mlflow.start_run() as run:
    pass
out({"uri": mlflow.get_tracking_uri(), "id": run.info.run_id})
""", env={"MLFLOW_TRACKING_URI": "file:./mlruns"})
        self.assertEqual(r.returncode, 0, self.describe(r))
        res = self.result(r)
        self.assertEqual(res["uri"], "file:./mlruns")  # as MLflow returns it
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")  # recorded in the enclosing repository
    def test_unsupported_tracking_uri_from_the_environment_names_the_variable(self):
        r = self.run_from(self.repo, """
try:
    mlflow.start_run()
    msg = None
except mlflow.MlflowException as e:
    msg = str(e)
out({"msg": msg})
""", env={"MLFLOW_TRACKING_URI": "http://localhost:5000"})
        self.assertEqual(r.returncode, 0, self.describe(r))
        msg = self.result(r)["msg"]
        self.assertIsNotNone(msg)
        self.assertIn("'http://localhost:5000' (from the environment variable MLFLOW_TRACKING_URI) is not supported",
                      msg)
        self.assertIn("unset MLFLOW_TRACKING_URI", msg)
        self.assertEqual(self.runs(), [])  # nothing recorded

    def test_experiment_tags_round_trip_and_survive_reindex(self):
        res = self.mlflow("""
exp_id = mlflow.create_experiment("tagged", tags={"team": "nlp", "priority": 1})
mlflow.set_experiment("tagged")
mlflow.set_experiment_tag("stage", "dev")
mlflow.set_experiment_tags({"priority": "2", "owner": "ana"})
client = mlflow.MlflowClient()
client.set_experiment_tag(exp_id, "reviewed", True)
other = mlflow.set_experiment("other")
try:
    mlflow.set_experiment_tag("", "x")
    bad = None
except mlflow.MlflowException as e:
    bad = str(e)
out({"id": exp_id, "get": mlflow.get_experiment(exp_id).tags,
     "by_name": mlflow.get_experiment_by_name("tagged").tags,
     "search": {e.name: e.tags for e in mlflow.search_experiments()},
     "client": client.get_experiment(exp_id).tags, "other": other.tags, "bad": bad})
""")
        want = {"team": "nlp", "priority": "2", "stage": "dev", "owner": "ana", "reviewed": "True"}
        self.assertEqual(res["get"], want)
        self.assertEqual(res["by_name"], want)
        self.assertEqual(res["client"], want)
        self.assertEqual(res["search"]["tagged"], want)
        self.assertEqual(res["search"]["other"], {})
        self.assertEqual(res["other"], {})
        self.assertIsNotNone(res["bad"], "an empty tag key must be refused")
        cli = {e["name"]: e["tags"] for e in self.json("experiments")}
        self.assertEqual(cli["tagged"], want)
        # The index is rebuilt from the records and descriptors: the tags stay.
        self.ok("reindex")
        after = self.mlflow("""
out({e.name: e.tags for e in mlflow.search_experiments()})
""")
        self.assertEqual(after["tagged"], want)
        self.ok("experiments", "rename", "tagged", "renamed")
        self.assertEqual({e["name"]: e["tags"] for e in self.json("experiments")}["renamed"], want)

    def test_experiment_tag_goes_to_the_experiment_of_cairn_run(self):
        path = self.script("""
import cairn as mlflow
mlflow.set_experiment_tag("from", "inside")
""")
        self.ok("run", "-e", "wine", "--", PYTHON, path)
        tags = {e["name"]: e["tags"] for e in self.json("experiments")}
        self.assertEqual(tags["wine"], {"from": "inside"})
        self.assertEqual(tags["Default"], {})


class FluentRuns(MlflowTestCase):

    def test_start_run_arguments_info_and_data(self):
        res = self.mlflow("""
exp_id = mlflow.create_experiment("exp")
with mlflow.start_run(experiment_id=exp_id, run_name="parent", tags={"version": "v1"},
                      description="the parent") as parent:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"layers": 3, "opt": "adam"})
    mlflow.set_tag("stage", "dev")
    mlflow.set_tags({"team": "ml", "n": 3})
    mlflow.log_metric("loss", 0.9)
    mlflow.log_metric("loss", 0.5, step=1, timestamp=1700000000123)
    mlflow.log_metrics({"acc": 0.7, "f1": 0.6}, step=2)
    active = mlflow.active_run()
    info = dict(active.info)
    with mlflow.start_run(run_name="child", nested=True) as child:
        inner = mlflow.active_run().info.run_id
        mlflow.log_metric("child_metric", 1.0)
    after_child = mlflow.active_run().info.run_id
    try:
        mlflow.start_run()
        not_nested = None
    except mlflow.MlflowException as e:
        not_nested = str(e)
data = mlflow.get_run(parent.info.run_id).data
child_tags = mlflow.get_run(child.info.run_id).data.tags
last = mlflow.last_active_run()
out({"info": info, "inner": inner, "child": child.info.run_id, "after_child": after_child,
     "not_nested": not_nested, "params": data.params, "metrics": data.metrics, "tags": data.tags,
     "child_tags": child_tags, "last": [last.info.run_id, last.info.status, last.info.end_time is not None],
     "active_after": mlflow.active_run(), "exp_id": exp_id,
     "history": [dict(m) for m in mlflow.MlflowClient().get_metric_history(parent.info.run_id, "loss")]})
""")
        info, pid = res["info"], res["info"]["run_id"]
        self.assertRegex(pid, r"^[0-9a-f]{32}$")
        self.assertEqual(info["run_uuid"], pid)
        self.assertEqual((info["run_name"], info["experiment_id"], info["status"]), ("parent", res["exp_id"], "RUNNING"))
        self.assertLess(abs(info["start_time"] - time.time() * 1000), 120_000, "start_time is epoch ms")
        self.assertIsNone(info["end_time"])
        self.assertEqual(info["artifact_uri"], "mlflow-artifacts:/%s/%s/artifacts" % (res["exp_id"], pid))
        self.assertEqual(info["lifecycle_stage"], "active")
        self.assertEqual(res["inner"], res["child"])
        self.assertEqual(res["after_child"], pid)
        self.assertIn("already active", res["not_nested"])
        self.assertEqual(res["params"], {"alpha": "0.5", "layers": "3", "opt": "adam"})
        self.assertEqual(res["metrics"], {"loss": 0.5, "acc": 0.7, "f1": 0.6})
        tags = {k: v for k, v in res["tags"].items() if not k.startswith("cairn.")}
        self.assertEqual(tags, {"version": "v1", "stage": "dev", "team": "ml", "n": "3",
                                "mlflow.note.content": "the parent", "mlflow.runName": "parent"})
        self.assertEqual(res["child_tags"]["mlflow.parentRunId"], pid)
        self.assertEqual(res["last"], [pid, "FINISHED", True])
        self.assertIsNone(res["active_after"])
        self.assertEqual([(m["key"], m["value"], m["step"]) for m in res["history"]],
                         [("loss", 0.9, 0), ("loss", 0.5, 1)])
        self.assertEqual(res["history"][1]["timestamp"], 1700000000123)
        self.assertLess(abs(res["history"][0]["timestamp"] - time.time() * 1000), 120_000)
        # The CLI agrees.
        run = self.show(pid)
        self.assertEqual((run["name"], run["experiment"], run["status"]), ("parent", "exp", "FINISHED"))
        self.assertEqual({k: run["metrics"]["loss"][k] for k in ("value", "step", "timestamp")},
                         {"value": 0.5, "step": 1, "timestamp": 1700000000123})
        self.assertEqual(run["tags"]["mlflow.note.content"], "the parent")
        self.assertEqual(self.show(res["child"])["tags"]["mlflow.parentRunId"], pid)

    def test_end_run_status_resume_and_delete(self):
        res = self.mlflow("""
mlflow.start_run(run_name="killed")
rid = mlflow.active_run().info.run_id
mlflow.end_run(status="KILLED")
none_left = mlflow.end_run()           # nothing active: a no-op, as in MLflow
client = mlflow.MlflowClient()
made = client.create_run(mlflow.get_experiment_by_name("Default").experiment_id, run_name="made")
with mlflow.start_run(run_id=made.info.run_id) as resumed:
    mlflow.log_metric("m", 2.0)
try:
    mlflow.start_run(run_id=rid)
    ended = None
except mlflow.MlflowException as e:
    ended = str(e)
mlflow.delete_run(rid)
out({"rid": rid, "status": mlflow.get_run(rid).info.status, "none_left": none_left,
     "made": made.info.run_id, "resumed": resumed.info.run_id, "made_status": mlflow.get_run(made.info.run_id).info.status,
     "ended": ended, "stage": mlflow.get_run(rid).info.lifecycle_stage,
     "active": [r.info.run_id for r in mlflow.search_runs(output_format="list")],
     "deleted": [r.info.run_id for r in mlflow.search_runs(output_format="list",
                                                           run_view_type=mlflow.entities.ViewType.DELETED_ONLY)],
     "all": len(mlflow.search_runs(output_format="list", run_view_type=mlflow.entities.ViewType.ALL))})
""")
        self.assertEqual(res["status"], "KILLED")
        self.assertIsNone(res["none_left"])
        self.assertEqual(res["resumed"], res["made"])
        self.assertEqual(res["made_status"], "FINISHED")
        self.assertIn("cannot resume", res["ended"])
        self.assertEqual(res["stage"], "deleted")
        self.assertEqual(res["active"], [res["made"]])
        self.assertEqual(res["deleted"], [res["rid"]])
        self.assertEqual(res["all"], 2)
        self.assertEqual(self.show(res["rid"])["status"], "KILLED")
        self.assertEqual(self.show(res["made"])["metrics"]["m"]["value"], 2.0)


class Artifacts(MlflowTestCase):

    def test_artifacts_from_temp_dirs_text_dict_figure(self):
        res = self.mlflow("""
import tempfile
class Figure:  # duck-typed like matplotlib's: savefig(file, format=…)
    def savefig(self, f, format=None, dpi=None):
        f.write(("%s:%s" % (format, dpi)).encode())
with mlflow.start_run() as run:
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "features.txt"), "w") as f:
            f.write("rooms, zipcode")
        mlflow.log_artifact(os.path.join(tmp, "features.txt"))
        mlflow.log_artifact(os.path.join(tmp, "features.txt"), artifact_path="features")
        os.makedirs(os.path.join(tmp, "states", "sub"))
        with open(os.path.join(tmp, "states", "data.json"), "w") as f:
            f.write('{"state": "TX"}')
        with open(os.path.join(tmp, "states", "sub", "deep.txt"), "w") as f:
            f.write("deep")
        mlflow.log_artifacts(os.path.join(tmp, "states"), artifact_path="states")
        mlflow.log_artifacts(os.path.join(tmp, "states"))
    mlflow.log_text("text1", "file1.txt")
    mlflow.log_text("<h1>header</h1>", "dir/index.html")
    mlflow.log_dict({"k": "v", "n": [1, 2]}, "data.json")
    mlflow.log_dict({"k": "v"}, "dir/data")
    mlflow.log_figure(Figure(), "plots/fig.png", save_kwargs={"dpi": 72})
    uri = mlflow.get_artifact_uri("plots/fig.png")
    listing = [dict(f) for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    sub = [dict(f) for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "states")]
    try:
        mlflow.log_figure(object(), "x.png")
        not_figure = None
    except TypeError as e:
        not_figure = str(e)
out({"id": run.info.run_id, "uri": uri, "listing": listing, "sub": sub, "not_figure": not_figure})
""")
        rid = res["id"]
        run = self.show(rid)
        want = {"features.txt": b"rooms, zipcode", "features/features.txt": b"rooms, zipcode",
                "states/data.json": b'{"state": "TX"}', "states/sub/deep.txt": b"deep",
                "data.json": json.dumps({"k": "v", "n": [1, 2]}, indent=2).encode(), "sub/deep.txt": b"deep",
                "file1.txt": b"text1", "dir/index.html": b"<h1>header</h1>", "dir/data": b'{\n  "k": "v"\n}',
                "plots/fig.png": b"png:72"}
        self.assertEqual(self.user_artifacts(run), sorted(want))
        for path, data in want.items():
            dest = os.path.join(self.tmp, "got", path)
            self.ok("artifacts", "get", rid, path, "-o", dest)
            with open(dest, "rb") as f:
                self.assertEqual(f.read(), data, path)
        self.assertTrue(res["uri"].endswith("/%s/artifacts/plots/fig.png" % rid), res["uri"])
        top = {f["path"]: (f["is_dir"], f["file_size"]) for f in res["listing"]}
        self.assertEqual(top["features.txt"], (False, 14))
        self.assertEqual(top["states"], (True, None))
        self.assertEqual(res["sub"], [{"path": "states/data.json", "is_dir": False, "file_size": 15},
                                      {"path": "states/sub", "is_dir": True, "file_size": None}])
        self.assertIn("neither a matplotlib nor a plotly figure", res["not_figure"])


class SearchRuns(MlflowTestCase):

    def make_runs(self, python=None):
        return self.mlflow("""
ids = {}
exp = mlflow.set_experiment("grid")
for k, acc in ((1, 0.7), (3, 0.9), (5, 0.95)):
    with mlflow.start_run(run_name="k%d" % k, tags={"team": "a" if k < 5 else "b"}) as run:
        mlflow.log_param("k", k)
        if k != 1:
            mlflow.log_metric("acc", acc)
        mlflow.log_param("only%d" % k, "x")
    ids[k] = run.info.run_id
other = mlflow.set_experiment("other")
with mlflow.start_run(run_name="o") as run:
    mlflow.log_metric("acc", 0.99)
ids["other"] = run.info.run_id
mlflow.set_experiment("grid")
out({"ids": ids, "grid": exp.experiment_id, "other": other.experiment_id})
""", python=python)

    def test_dataframe_has_mlflows_columns(self):
        if not has_pandas(SYSTEM_PYTHON):
            raise missing("pandas for %s (Debian's python3-pandas)" % SYSTEM_PYTHON)
        made = self.make_runs(python=SYSTEM_PYTHON)
        ids = made["ids"]
        res = self.mlflow("""
import math
import pandas as pd
mlflow.set_experiment("grid")
df = mlflow.search_runs()                                    # the active experiment, a DataFrame
by_acc = mlflow.search_runs([%r], order_by=["metrics.acc DESC"], filter_string="params.k != '1'")
named = mlflow.search_runs(experiment_names=["other"])
every = mlflow.search_runs(search_all_experiments=True)
empty = mlflow.search_runs(filter_string="metrics.acc > 2")
row = df.set_index("run_id").loc[%r]
out({"type": type(df).__name__, "columns": list(df.columns), "n": len(df), "ids": list(df["run_id"]),
     "by_acc": list(by_acc["run_id"]), "acc": list(by_acc["metrics.acc"]), "named": list(named["run_id"]),
     "every": len(every), "empty": [len(empty), list(empty.columns)],
     "start_dtype": str(df["start_time"].dtype), "end_type": type(row["end_time"]).__name__,
     "start_ms": int(row["start_time"].value // 10**6), "row_status": row["status"],
     "row_artifact_uri": row["artifact_uri"], "row_exp": row["experiment_id"],
     "nan_acc": math.isnan(df.set_index("run_id").loc[%r]["metrics.acc"]),
     "none_param": df.set_index("run_id").loc[%r]["params.only5"],
     "run_name_tag": row["tags.mlflow.runName"], "team": row["tags.team"], "k": row["params.k"]})
""" % (made["grid"], ids["5"], ids["1"], ids["1"]), python=SYSTEM_PYTHON)
        self.assertEqual(res["type"], "DataFrame")
        cols = res["columns"]
        self.assertEqual(cols[:6], ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"])
        groups = [c.split(".")[0] for c in cols[6:]]
        self.assertEqual(groups, sorted(groups, key=["metrics", "params", "tags"].index), cols)
        self.assertTrue({"metrics.acc", "params.k", "params.only1", "params.only5", "tags.team",
                         "tags.mlflow.runName"} <= set(cols), cols)
        self.assertEqual(res["n"], 3)
        self.assertEqual(res["ids"], [ids["5"], ids["3"], ids["1"]], "newest first")
        self.assertEqual(res["by_acc"], [ids["5"], ids["3"]])
        self.assertEqual(res["acc"], [0.95, 0.9])
        self.assertEqual(res["named"], [ids["other"]])
        self.assertEqual(res["every"], 4)
        self.assertEqual(res["empty"][0], 0)
        self.assertEqual(res["empty"][1][:6], cols[:6])
        self.assertEqual(res["start_dtype"], "datetime64[ns, UTC]")
        self.assertEqual(res["end_type"], "Timestamp")
        run = self.show(ids["5"])
        self.assertEqual(res["start_ms"], run["start_time"])
        self.assertEqual((res["row_status"], res["row_exp"]), ("FINISHED", made["grid"]))
        self.assertEqual(res["row_artifact_uri"], "mlflow-artifacts:/%s/%s/artifacts" % (made["grid"], ids["5"]))
        self.assertTrue(res["nan_acc"], "a metric a run lacks is NaN")
        self.assertIsNone(res["none_param"], "a param a run lacks is None")
        self.assertEqual((res["run_name_tag"], res["team"], res["k"]), ("k5", "b", "5"))

    def test_list_output_and_missing_pandas(self):
        made = self.make_runs()
        ids = made["ids"]
        res = self.mlflow("""
runs = mlflow.search_runs(experiment_ids=[%r], order_by=["params.k DESC"], output_format="list", max_results=2)
client_runs = mlflow.MlflowClient().search_runs([%r], "params.k = '3'")
try:
    import pandas
    no_pandas = "pandas present"
except ImportError:
    try:
        mlflow.search_runs()
        no_pandas = None
    except ImportError as e:
        no_pandas = str(e)
try:
    mlflow.search_runs(output_format="csv")
    bad = None
except mlflow.MlflowException as e:
    bad = str(e)
out({"runs": [[r.info.run_id, r.data.params["k"]] for r in runs], "types": sorted({type(r).__name__ for r in runs}),
     "client": [r.info.run_id for r in client_runs], "token": client_runs.token, "no_pandas": no_pandas, "bad": bad,
     "cairn_way": [r.id for r in mlflow.search_runs("grid", filter="params.k = '1'")]})
""" % (made["grid"], made["grid"]))
        self.assertEqual(res["runs"], [[ids["5"], "5"], [ids["3"], "3"]])
        self.assertEqual(res["types"], ["Run"])
        self.assertEqual(res["client"], [ids["3"]])
        self.assertIsNone(res["token"])
        if res["no_pandas"] != "pandas present":
            self.assertIn('output_format="list"', res["no_pandas"])
        self.assertIn("output_format", res["bad"])
        self.assertEqual(res["cairn_way"], [ids["1"]])


class Client(MlflowTestCase):

    def test_create_log_batch_terminate(self):
        res = self.mlflow("""
from cairn.entities import Metric, Param, RunTag
client = mlflow.MlflowClient()
exp_id = client.create_experiment("batch")
run = client.create_run(exp_id, tags={"src": "client"}, run_name="batched")
rid = run.info.run_id
client.log_batch(rid, metrics=[Metric("loss", 0.5, 1700000000000, 0), Metric("loss", 0.25, 1700000001000, 1)],
                 params=[Param("lr", "0.1")], tags=[RunTag("phase", "train")])
client.log_param(rid, "depth", 4)
client.log_metric(rid, "acc", 0.8, step=3)
client.set_tag(rid, "t", "v")
status_before = client.get_run(rid).info.status
client.set_terminated(rid, "FAILED")
got = client.get_run(rid)
out({"rid": rid, "status_before": status_before, "status": got.info.status, "params": got.data.params,
     "metrics": got.data.metrics, "tags": got.data.tags, "active": mlflow.active_run(),
     "history": [[m.step, m.value, m.timestamp] for m in client.get_metric_history(rid, "loss")],
     "same": mlflow.Client is mlflow.MlflowClient})
""")
        self.assertEqual((res["status_before"], res["status"]), ("RUNNING", "FAILED"))
        self.assertEqual(res["params"], {"lr": "0.1", "depth": "4"})
        self.assertEqual(res["metrics"], {"loss": 0.25, "acc": 0.8})
        self.assertEqual({k: res["tags"][k] for k in ("src", "phase", "t", "mlflow.runName")},
                         {"src": "client", "phase": "train", "t": "v", "mlflow.runName": "batched"})
        self.assertIsNone(res["active"], "create_run must not make the run active")
        self.assertEqual(res["history"], [[0, 0.5, 1700000000000], [1, 0.25, 1700000001000]])
        self.assertTrue(res["same"])
        run = self.show(res["rid"])
        self.assertEqual((run["status"], run["name"], run["experiment"]), ("FAILED", "batched", "batch"))
        self.assertEqual(run["metrics"]["acc"]["step"], 3)


    def test_start_end_time_and_metric_timestamp_round_trip(self):
        res = self.mlflow("""
client = mlflow.MlflowClient()
exp_id = client.create_experiment("imported")
run = client.create_run(exp_id, start_time=1600000000000, run_name="old")
rid = run.info.run_id
client.log_metric(rid, "loss", 0.5, timestamp=1600000000500, step=1)
with mlflow.start_run(run_id=rid):
    mlflow.log_metric("acc", 0.75, step=2, timestamp=1600000000900)
    mlflow.log_metrics({"f1": 0.5}, step=2, timestamp=1600000000950)
# start_run(run_id=) ended it now; a second run ends at a given time.
run2 = client.create_run(exp_id, start_time=1600000000000)
try:
    client.set_terminated(run2.info.run_id, "FINISHED", end_time=1500000000000)
    early = None
except mlflow.MlflowException as e:
    early = str(e)
still = client.get_run(run2.info.run_id).info.status
client.set_terminated(run2.info.run_id, "KILLED", end_time=1600000060000)
got = client.get_run(run2.info.run_id).info
out({"rid": rid, "rid2": run2.info.run_id, "start": run.info.start_time, "early": early, "still": still,
     "info2": [got.start_time, got.end_time, got.status],
     "loss": [[m.step, m.timestamp] for m in client.get_metric_history(rid, "loss")],
     "acc": [[m.step, m.timestamp] for m in client.get_metric_history(rid, "acc")],
     "f1": [[m.step, m.timestamp] for m in client.get_metric_history(rid, "f1")]})
""")
        self.assertEqual(res["start"], 1600000000000)
        self.assertIn("before its start", res["early"] or "")
        self.assertEqual(res["still"], "RUNNING", "a refused end time leaves the run running")
        self.assertEqual(res["info2"], [1600000000000, 1600000060000, "KILLED"])
        self.assertEqual(res["loss"], [[1, 1600000000500]])
        self.assertEqual(res["acc"], [[2, 1600000000900]])
        self.assertEqual(res["f1"], [[2, 1600000000950]])
        for when in ("now", "after reindex"):
            first, second = self.show(res["rid"]), self.show(res["rid2"])
            self.assertEqual(first["start_time"], 1600000000000, when)
            self.assertGreater(first["end_time"], 1700000000000, when)  # ended now, by the with block
            self.assertEqual((second["start_time"], second["end_time"]), (1600000000000, 1600000060000), when)
            self.assertEqual(second["metrics"], {}, when)
            self.assertEqual(first["metrics"]["loss"]["timestamp"], 1600000000500, when)
            self.ok("reindex")


class InputsAndEnvironment(MlflowTestCase):

    def test_log_input_records_a_dataset_version(self):
        content, version = self.dataset_v1()
        res = self.mlflow("""
import warnings
with mlflow.start_run() as run:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = mlflow.log_input("data.csv@v1", context="training")
    try:
        mlflow.log_input(object())
        not_ref = None
    except TypeError as e:
        not_ref = str(e)
out({"id": run.info.run_id, "data": open(path).read(), "warned": [str(w.message) for w in caught],
     "not_ref": not_ref})
""")
        self.assertEqual(res["data"].encode(), content)
        self.assertTrue(any("context" in w for w in res["warned"]), res["warned"])
        self.assertIn("dataset ref", res["not_ref"])
        explicit = [i for i in self.show(res["id"])["inputs"] if i["source"] == "explicit"]
        self.assertEqual([(i["dataset"], i["version"], i["tag"]) for i in explicit], [("data.csv", version, "v1")])

    def test_mlflow_environment_variables_and_experiment_selection(self):
        res = self.mlflow("""
exp_id = mlflow.create_experiment("by-id")
with mlflow.start_run() as run:                 # $MLFLOW_EXPERIMENT_NAME
    pass
errors = {}
for name, call in {"both": lambda: mlflow.search_runs(experiment_ids=[exp_id], experiment_names=["x"]),
                   "bad_id": lambda: mlflow.search_runs(experiment_ids=["12345"]),
                   "bad_view": lambda: mlflow.search_runs(run_view_type="SOMETIMES", output_format="list")}.items():
    try:
        call()
        errors[name] = None
    except mlflow.MlflowException as e:
        errors[name] = str(e)
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    unknown = mlflow.search_runs(experiment_names=["nope"], output_format="list")
out({"experiment": mlflow.get_run(run.info.run_id).info.experiment_id,
     "env_exp": mlflow.get_experiment_by_name("from-env").experiment_id, "errors": errors,
     "unknown": unknown, "warned": [str(w.message) for w in caught],
     "positional": [r.info.run_id for r in mlflow.search_runs(
         [mlflow.get_experiment_by_name("from-env").experiment_id], "attributes.status = 'FINISHED'",
         output_format="list")]})
""", env={"MLFLOW_EXPERIMENT_NAME": "from-env"})
        self.assertEqual(res["experiment"], res["env_exp"])
        self.assertIn("not both", res["errors"]["both"])
        self.assertIn("no experiment with id '12345'", res["errors"]["bad_id"])
        self.assertIn("SOMETIMES", res["errors"]["bad_view"])
        self.assertEqual(res["unknown"], [])
        self.assertTrue(any("nope" in w for w in res["warned"]), res["warned"])
        self.assertEqual(len(res["positional"]), 1)


class FlushErrors(MlflowTestCase):
    """A buffered point that cannot be written (its run ended) surfaces at
    flush(), at end_run() (which still ends its own run) and at exit."""

    def test_flush_end_run_and_exit_report_the_failed_batch(self):
        # The active run is ended behind the fluent API's back, so its
        # buffered points cannot be written. (A point for another run is
        # written at once and refused at the call: test_mlflow_compat.)
        r = self.py("""
import cairn as mlflow
client = mlflow.MlflowClient()
run = mlflow.start_run()
client.set_terminated(run.info.run_id)
mlflow.log_metric("late", 1.0)                      # buffered; its run has ended
try:
    mlflow.flush()
    flushed = None
except mlflow.MlflowException as e:
    flushed = str(e)
mlflow.log_metric("late", 2.0)
try:
    mlflow.end_run()
    ended = None
except mlflow.MlflowException as e:
    ended = str(e)
out({"flushed": flushed, "ended": ended, "run": run.info.run_id, "status": mlflow.get_run(run.info.run_id).info.status})
last = mlflow.start_run()
client.set_terminated(last.info.run_id)
mlflow.log_metric("late", 3.0)                      # written at exit: reported on stderr
""")
        res = self.result(r)
        self.assertIsNotNone(res["flushed"], "flush() must raise the failed write")
        self.assertIsNotNone(res["ended"], "end_run() must raise the failed write")
        self.assertEqual(res["status"], "FINISHED", "the run is ended all the same")
        self.assertIn("cairn: error:", r.stderr)
        for run in self.runs():
            self.assertNotIn("late", self.show(run["id"])["metrics"])


class TrainingScript(MlflowTestCase):
    """examples/mlflow_style/train_wine.py, a whole MLflow-style training script, on the wine data."""

    def test_wine_sweep_records_everything(self):
        shutil.copy(os.path.join(EXAMPLES, "wine_data.csv"), self.path("wine.csv"))
        epochs, lrs = 12, ["0.05", "0.5"]
        r = subprocess.run([PYTHON_FOR_SCRIPT, TRAIN_WINE, "wine.csv", "--epochs", str(epochs), "--lrs", ",".join(lrs)],
                           cwd=self.repo, env=self.env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, self.describe(r))
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        parent = self.show(summary["parent"])
        self.assertEqual(summary["status"], "FINISHED")
        self.assertEqual((parent["status"], parent["name"], parent["experiment"]), ("FINISHED", "sweep", "wine-softmax"))
        self.assertEqual(parent["params"], {"epochs": str(epochs), "seed": "3", "test_rows": "44"})
        self.assertEqual(parent["tags"]["mlflow.note.content"], "learning-rate sweep of softmax regression")
        self.assertEqual(parent["tags"]["model"], "softmax")
        self.assertEqual(parent["tags"]["best_run"], summary["best"])
        self.assertEqual(self.user_artifacts(parent), ["config/sweep.json"])
        children = self.runs("-e", "wine-softmax", "--where", "tags.mlflow.parentRunId = '%s'" % summary["parent"])
        self.assertEqual(sorted(c["id"] for c in children), sorted(summary["children"]))
        best_acc = None
        for cid in summary["children"]:
            child = self.show(cid)
            self.assertEqual(child["status"], "FINISHED")
            self.assertIn(child["params"]["lr"], lrs)
            self.assertEqual(child["name"], "lr-" + child["params"]["lr"])
            self.assertEqual(child["tags"]["stage"], "sweep")
            for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
                points = self.history(cid, key)
                self.assertEqual([p["step"] for p in points], list(range(epochs)), key)
                stamps = [p["timestamp"] for p in points]
                self.assertEqual(stamps, sorted(stamps))
                self.assertLess(abs(stamps[-1] - time.time() * 1000), 600_000, "timestamps are epoch ms")
            losses = [p["value"] for p in self.history(cid, "train_loss")]
            self.assertLess(losses[-1], losses[0], "training lowers the loss")
            acc = child["metrics"]["test_accuracy"]["value"]
            self.assertGreater(acc, 0.8)
            best_acc = acc if best_acc is None else max(best_acc, acc)
            self.assertEqual(self.user_artifacts(child), ["model/weights.json", "per_class/class_0.txt",
                                                          "per_class/class_1.txt", "per_class/class_2.txt",
                                                          "report.txt"])
            dest = os.path.join(self.tmp, cid + ".json")
            self.ok("artifacts", "get", cid, "model/weights.json", "-o", dest)
            with open(dest) as f:
                model = json.load(f)
            self.assertEqual(model["classes"], ["class_0", "class_1", "class_2"])
            self.assertEqual([len(w) for w in model["weights"]], [14] * 3)
            report = os.path.join(self.tmp, cid + ".txt")
            self.ok("artifacts", "get", cid, "report.txt", "-o", report)
            with open(report) as f:
                self.assertEqual(f.read(), "lr=%s test_accuracy=%.4f\n" % (child["params"]["lr"], acc))
        self.assertEqual(parent["metrics"]["best_test_accuracy"]["value"], best_acc)
        self.assertEqual(self.show(summary["best"])["metrics"]["test_accuracy"]["value"], best_acc)
        self.assertEqual(parent["tags"]["best_lr"], self.show(summary["best"])["params"]["lr"])


    def test_wine_sweep_under_cairn_run(self):
        """Wrapped by 'cairn run', the script's parent run is the one cairn made; the sweep nests under it."""
        shutil.copy(os.path.join(EXAMPLES, "wine_data.csv"), self.path("wine.csv"))
        r = self.cairn("run", "-e", "wrapped", "-n", "outer", "--", PYTHON_FOR_SCRIPT, TRAIN_WINE, "wine.csv",
                       "--epochs", "3", "--lrs", "0.1,0.5", timeout=300)
        self.assertEqual(r.returncode, 0, self.describe(r))
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["status"], "RUNNING", "cairn run ends the run, after the script")
        outer = self.show(summary["parent"])
        self.assertEqual((outer["name"], outer["experiment"], outer["status"], outer["exit_code"]),
                         ("outer", "wrapped", "FINISHED", 0))
        self.assertEqual(outer["tags"]["mlflow.note.content"], "learning-rate sweep of softmax regression")
        self.assertEqual(outer["tags"]["best_run"], summary["best"])
        self.assertEqual(outer["params"]["epochs"], "3")
        self.assertEqual(len(self.runs()), 3, "the script must not start a parent run of its own")
        for cid in summary["children"]:
            child = self.show(cid)
            self.assertEqual((child["experiment"], child["status"]), ("wine-softmax", "FINISHED"))
            self.assertEqual(child["tags"]["mlflow.parentRunId"], summary["parent"])
            self.assertEqual([p["step"] for p in self.history(cid, "test_accuracy")], [0, 1, 2])

PYTHON_FOR_SCRIPT = __import__("sys").executable

if __name__ == "__main__":
    unittest.main()
