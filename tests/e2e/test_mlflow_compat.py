"""MLflow compatibility found missing by a new user's test pass: scripts as a
user of MLflow writes them (`import cairn as mlflow`), each checking one
behaviour MLflow has (refusals at the call, race-free set_experiment, run
names as the mlflow.runName tag, warnings, DataFrame dtypes, missing calls).
Numbers are those of the report (issue 12).
"""

import os
import subprocess
import time
import unittest

from cairn_testlib import missing
from test_mlflow_api import SYSTEM_PYTHON, MlflowTestCase, has_pandas
from test_python_api import PYTHON


class Refusals(MlflowTestCase):

    def test_client_log_metric_to_an_ended_run_raises_at_the_call(self):  # 3
        res = self.mlflow("""
c = mlflow.MlflowClient()
ended = c.create_run("0")
c.set_terminated(ended.info.run_id)
try:
    c.log_metric(ended.info.run_id, "x", 1.0)
    refused = None
except mlflow.MlflowException as e:
    refused = str(e)
later = c.create_run("0")  # must not raise the refusal of the earlier call
c.log_metric(later.info.run_id, "y", 2.0)
c.set_terminated(later.info.run_id)
out({"refused": refused, "ended": ended.info.run_id, "later": later.info.run_id})
""")
        self.assertIsNotNone(res["refused"], "log_metric to an ended run must raise at the call")
        self.assertIn("ended", res["refused"])
        later = self.show(res["later"])
        self.assertEqual((later["status"], later["metrics"]["y"]["value"]), ("FINISHED", 2.0))
        self.assertNotIn("x", self.show(res["ended"])["metrics"])

    def test_fluent_log_metric_with_an_ended_run_id_raises_and_spares_the_active_run(self):  # 3
        res = self.mlflow("""
with mlflow.start_run() as first:
    pass
refused = {}
with mlflow.start_run() as active:
    mlflow.log_metric("ok", 1.0)
    for name, call in (("log_metric", lambda: mlflow.log_metric("x", 1.0, run_id=first.info.run_id)),
                       ("log_metrics", lambda: mlflow.log_metrics({"x": 1.0}, run_id=first.info.run_id))):
        try:
            call()
            refused[name] = None
        except mlflow.MlflowException as e:
            refused[name] = str(e)
    mlflow.log_metric("after", 2.0)
out({"refused": refused, "active": active.info.run_id})
""")
        for name, msg in res["refused"].items():
            self.assertIsNotNone(msg, name + " to an ended run must raise at the call")
        run = self.show(res["active"])
        self.assertEqual(run["status"], "FINISHED", "a refused call must not fail the active run")
        self.assertEqual(sorted(run["metrics"]), ["after", "ok"])

    def test_with_block_after_end_run_exits_cleanly(self):  # 8
        res = self.mlflow("""
with mlflow.start_run() as run:
    mlflow.log_param("p", 1)
    mlflow.end_run()
    inside = mlflow.active_run()
with mlflow.start_run() as failed:
    mlflow.end_run(status="KILLED")
out({"id": run.info.run_id, "inside": inside is None, "failed": failed.info.run_id,
     "active": mlflow.active_run() is None})
""")
        self.assertTrue(res["inside"] and res["active"])
        self.assertEqual(self.show(res["id"])["status"], "FINISHED")
        self.assertEqual(self.show(res["failed"])["status"], "KILLED", "__exit__ must not end a run again")


class SetExperimentRace(MlflowTestCase):

    def test_parallel_set_experiment_all_get_the_one_experiment(self):  # 7
        # Eight processes set each of twenty new experiments at the same instant
        # (a shared deadline per name): a lookup-then-create loses often.
        start = time.time() + 2.0
        script = self.script("""
import cairn as mlflow
mlflow.search_experiments()  # the repository is open before the deadlines
ids = []
for i in range(20):
    time.sleep(max(0.0, %r + 0.15 * i - time.time()))
    ids.append(mlflow.set_experiment("race%%d" %% i).experiment_id)
out(ids)
""" % start)
        procs = [subprocess.Popen([PYTHON, script], cwd=self.repo, env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, stderr)
            results += [line[len("RESULT "):] for line in stdout.splitlines() if line.startswith("RESULT ")]
        self.assertEqual(len(results), 8)
        self.assertEqual(len(set(results)), 1, "every process must get the same experiments: %s" % results)
        names = [e["name"] for e in self.json("experiments")]
        for i in range(20):
            self.assertEqual(names.count("race%d" % i), 1)


class UnderCairnRun(MlflowTestCase):

    def test_set_experiment_moves_the_scripts_own_runs_not_cairn_runs(self):  # 16 (doc/mlflow.md's rule)
        path = self.script("""
import cairn as mlflow
with mlflow.start_run() as parent:
    mlflow.set_experiment("Y")
    with mlflow.start_run(nested=True) as child:
        pass
out({"parent": parent.info.run_id, "child": child.info.run_id})
""")
        r = self.cairn("run", "-e", "X", "--", PYTHON, path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        res = self.result(r)
        parent, child = self.show(res["parent"]), self.show(res["child"])
        self.assertEqual(parent["experiment"], "X", "cairn run -e names the run it made")
        self.assertEqual(child["experiment"], "Y", "set_experiment applies to the runs the script starts")
        self.assertEqual(child["tags"]["mlflow.parentRunId"], res["parent"])


class RunNames(MlflowTestCase):

    def test_run_name_tag_sets_the_run_name(self):  # 9
        res = self.mlflow("""
with mlflow.start_run(tags={"mlflow.runName": "from-start", "team": "a"}) as a:
    pass
with mlflow.start_run() as b:
    mlflow.set_tag("mlflow.runName", "from-set-tag")
    mlflow.set_tags({"mlflow.runName": "from-set-tags", "k": "v"})
c = mlflow.MlflowClient()
r = c.create_run("0")
c.set_tag(r.info.run_id, "mlflow.runName", "from-client")
c.set_terminated(r.info.run_id)
c.update_run(a.info.run_id, name="renamed-after-end")
out({"a": a.info.run_id, "b": b.info.run_id, "c": r.info.run_id,
     "b_name": mlflow.get_run(b.info.run_id).info.run_name,
     "b_tag": mlflow.get_run(b.info.run_id).data.tags.get("mlflow.runName")})
""")
        expect = {"a": "renamed-after-end", "b": "from-set-tags", "c": "from-client"}
        for key, name in expect.items():
            run = self.show(res[key])
            self.assertEqual(run["name"], name, key)
            self.assertNotIn("mlflow.runName", run["tags"], "the name is not stored as a tag")
        def user_tags(run_id):  # cairn's own tags left out
            return {k: v for k, v in self.show(run_id)["tags"].items() if not k.startswith("cairn.")}
        self.assertEqual(user_tags(res["a"]), {"team": "a"})
        self.assertEqual(user_tags(res["b"]), {"k": "v"})
        self.assertEqual((res["b_name"], res["b_tag"]), ("from-set-tags", "from-set-tags"))


class Search(MlflowTestCase):

    def test_scalar_experiment_ids_are_wrapped(self):  # 10
        res = self.mlflow("""
with mlflow.start_run() as run:
    mlflow.log_metric("m", 1.0)
c = mlflow.MlflowClient()
out({"str": [r.info.run_id for r in mlflow.search_runs(experiment_ids="0", output_format="list")],
     "int": [r.info.run_id for r in mlflow.search_runs(experiment_ids=0, output_format="list")],
     "pos": [r.info.run_id for r in mlflow.search_runs("0", output_format="list")],
     "client": [r.info.run_id for r in c.search_runs(0)], "id": run.info.run_id})
""")
        for key in ("str", "int", "pos", "client"):
            self.assertEqual(res[key], [res["id"]], key)

    def test_a_misspelt_key_warns(self):  # 17
        res = self.mlflow("""
import warnings
with mlflow.start_run():
    mlflow.log_metric("accuracy", 0.9)
caught = {}
for name, call in (
        ("fluent", lambda: mlflow.search_runs(filter_string="metrics.acuracy > 0.5", output_format="list")),
        ("client", lambda: mlflow.MlflowClient().search_runs("0", filter_string="metrics.acuracy > 0.5")),
        ("cairn", lambda: mlflow.search_runs(filter="metrics.acuracy > 0.5"))):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        found = call()
    caught[name] = [len(found)] + [(x.category.__name__, str(x.message)) for x in w]
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    mlflow.search_runs(filter_string="metrics.accuracy > 0.5", output_format="list")
out({"caught": caught, "clean": len(w)})
""")
        for name, got in res["caught"].items():
            self.assertEqual(got[0], 0, name)
            self.assertEqual(len(got), 2, "%s: one warning expected: %s" % (name, got))
            self.assertEqual(got[1][0], "UserWarning")
            self.assertIn("metrics.acuracy", got[1][1])
            self.assertIn("misspelt", got[1][1])
        self.assertEqual(res["clean"], 0, "a key that runs have must not warn")

    def test_dataframe_times_are_always_utc_datetimes(self):  # 18
        if not has_pandas(SYSTEM_PYTHON):
            raise missing("pandas for %s (Debian's python3-pandas)" % SYSTEM_PYTHON)
        res = self.mlflow("""
def dtypes(df):
    return [str(df["start_time"].dtype), str(df["end_time"].dtype), len(df)]
empty = mlflow.search_runs()
mlflow.start_run()
running = mlflow.search_runs()
mlflow.end_run()
with mlflow.start_run():
    mixed = None
mlflow.start_run()
mixed = mlflow.search_runs()
out({"empty": dtypes(empty), "empty_cols": list(empty.columns)[:6], "running": dtypes(running),
     "mixed": dtypes(mixed), "nat": bool(mixed["end_time"].isna().iloc[0])})
""", python=SYSTEM_PYTHON)
        utc = "datetime64[ns, UTC]"
        self.assertEqual(res["empty"], [utc, utc, 0])
        self.assertEqual(res["empty_cols"], ["run_id", "experiment_id", "status", "artifact_uri", "start_time",
                                             "end_time"])
        self.assertEqual(res["running"], [utc, utc, 1])
        self.assertEqual(res["mixed"], [utc, utc, 3])
        self.assertTrue(res["nat"], "the running run's end_time is NaT")


class ReservedAndReplacedArtifacts(MlflowTestCase):

    def test_cairn_paths_are_reserved_for_every_entry_point(self):  # 11
        self.write("dirty.txt", "x\n")
        self.commit("dirty.txt")
        self.write("dirty.txt", "changed\n")  # the run records cairn/git.diff
        res = self.mlflow("""
refused = {}
with mlflow.start_run() as run:
    for name, call in (("log_dict", lambda: mlflow.log_dict({"a": 1}, "cairn/git.diff")),
                       ("log_text", lambda: mlflow.log_text("t", "cairn/x")),
                       ("log_text_dir", lambda: mlflow.log_text("t", "cairn")),
                       ("client", lambda: mlflow.MlflowClient().log_text(run.info.run_id, "t", "cairn/y.txt"))):
        try:
            call()
            refused[name] = None
        except mlflow.MlflowException as e:
            refused[name] = str(e)
out({"id": run.info.run_id, "refused": refused})
""", in_repo=True)
        for name, msg in res["refused"].items():
            self.assertIsNotNone(msg, name + " must refuse a path under cairn/")
            self.assertIn("artifact paths under cairn/ are reserved", msg, name)
        r = self.cairn("artifacts", "get", res["id"], "cairn/git.diff", "-o", "-")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("changed", r.stdout, "cairn's diff must be the one kept")
        paths = [a["path"] for a in self.show(res["id"])["artifacts"]]
        self.assertNotIn("cairn/x", paths)

    def test_same_basename_warns_naming_both_sources(self):  # 12
        self.write("eval/a.json", '{"from": "eval"}\n')
        self.write("m2/a.json", '{"from": "m2"}\n')
        res = self.mlflow("""
import warnings
with mlflow.start_run() as run:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mlflow.log_artifact("eval/a.json")
        mlflow.log_artifact("m2/a.json")
        mlflow.log_artifact("eval/a.json", artifact_path="eval")
        mlflow.log_text("note", "eval/a.json")
out({"id": run.info.run_id, "warnings": [str(x.message) for x in w]})
""")
        self.assertEqual(len(res["warnings"]), 2, res["warnings"])
        first, second = res["warnings"]
        self.assertIn("'eval/a.json'", first)
        self.assertIn("'m2/a.json'", first)
        self.assertIn("artifact 'a.json'", first)
        self.assertIn("log_text", second)
        paths = sorted(a["path"] for a in self.show(res["id"])["artifacts"] if not a["path"].startswith("cairn/"))
        self.assertEqual(paths, ["a.json", "eval/a.json"], "MLflow's rule: the base name under artifact_path")
        r = self.cairn("artifacts", "get", res["id"], "a.json", "-o", "-")
        self.assertIn("m2", r.stdout, "the last one logged wins")


class MissingCalls(MlflowTestCase):

    def test_rename_restore_update_parent_and_version(self):  # 21
        res = self.mlflow("""
c = mlflow.MlflowClient()
eid = c.create_experiment("old")
c.rename_experiment(eid, "new")
renamed = c.get_experiment(eid).name
mlflow.delete_experiment(eid)
mlflow.restore_experiment(eid)
fluent_restored = c.get_experiment(eid).lifecycle_stage
c.delete_experiment(eid)
c.restore_experiment(eid)
client_restored = c.get_experiment(eid).lifecycle_stage
r = c.create_run(eid)
c.update_run(r.info.run_id, status="KILLED", name="updated")
parent = c.create_run(eid)
with mlflow.start_run(experiment_id=eid, parent_run_id=parent.info.run_id) as child:
    pass
c.set_terminated(parent.info.run_id)
out({"renamed": renamed, "fluent_restored": fluent_restored, "client_restored": client_restored,
     "run": r.info.run_id, "child": child.info.run_id, "parent": parent.info.run_id,
     "version": mlflow.__version__})
""")
        self.assertEqual(res["renamed"], "new")
        self.assertEqual((res["fluent_restored"], res["client_restored"]), ("active", "active"))
        run = self.show(res["run"])
        self.assertEqual((run["status"], run["name"]), ("KILLED", "updated"))
        child = self.show(res["child"])
        self.assertEqual(child["tags"].get("mlflow.parentRunId"), res["parent"])
        self.assertEqual(child["status"], "FINISHED")
        version = self.ok("--version").stdout.split()[-1]
        self.assertEqual(res["version"], version)

    def test_keys_mlflow_rejects_raise_invalid_parameter_value(self):  # 21
        res = self.mlflow("""
bad = ["a:b", "acc@1", "x" * 251, "../up", "/abs", "a//b", "", "a/./b"]
errors = {}
with mlflow.start_run() as run:
    for key in bad:
        for kind, call in (("metric", lambda: mlflow.log_metric(key, 1.0)),
                           ("param", lambda: mlflow.log_param(key, 1)),
                           ("tag", lambda: mlflow.set_tag(key, "v"))):
            try:
                call()
                errors[kind + " " + key[:20]] = None
            except mlflow.MlflowException as e:
                errors[kind + " " + key[:20]] = e.error_code
    mlflow.log_metric("ok/name-1.x y", 1.0)
    try:
        mlflow.MlflowClient().log_batch(run.info.run_id, metrics=[mlflow.entities.Metric("a:b", 1, 0, 0)])
        errors["log_batch"] = None
    except mlflow.MlflowException as e:
        errors["log_batch"] = e.error_code
out({"errors": errors, "id": run.info.run_id})
""")
        for what, code in res["errors"].items():
            self.assertEqual(code, "INVALID_PARAMETER_VALUE", what)
        run = self.show(res["id"])
        self.assertEqual(list(run["metrics"]), ["ok/name-1.x y"])
        self.assertEqual((run["params"], run["status"]), ({}, "FINISHED"))

    def test_autolog_does_nothing_but_warn_once(self):
        res = self.mlflow("""
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    mlflow.autolog()
    mlflow.autolog(log_models=False, disable=False)
with mlflow.start_run() as run:
    mlflow.log_metric("acc", 0.5)
out({"id": run.info.run_id, "warnings": [(w.category.__name__, str(w.message)) for w in caught]})
""")
        self.assertEqual(res["warnings"], [["UserWarning", "cairn has no autologging: autolog() does nothing; "
                                                          "log with log_param and log_metric"]])
        run = self.show(res["id"])
        self.assertEqual((run["status"], run["metrics"]["acc"]["value"], run["params"]), ("FINISHED", 0.5, {}))


if __name__ == "__main__":
    unittest.main()
