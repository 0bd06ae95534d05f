"""The model registry end to end: register (from a pipeline stage's workspace output and from a
run's artifact), list/show/versions, aliases, deprecation, approvals, get with provenance.json,
model refs as run inputs and pipeline deps, gc keeping registered artifacts, and bad input.

Provenance is checked against the truth: the dataset versions the pointers and cairn.lock
name, the git commit the pipeline ran at, the bytes of the workspace output.
"""

import json
import os
import subprocess
import textwrap
import unittest

import test_pipeline as tp
from cairn_testlib import CAIRN_BIN, ERROR, OK, sha256_bytes, sha256_file


class ModelRegistryTest(tp.PipelineTestCase):

    def head(self):
        return self.git("rev-parse", "HEAD").stdout.strip()

    def pointer_version(self, rel):
        return self.pointer(rel)["version"]

    def trained_run(self, files=None, inputs=("data/raw@v1",)):
        """A run by `cairn run` that logs `files` ({path: bytes}) as artifacts; returns its id."""
        files = files or {"model.bin": b"MODEL-BYTES"}
        for rel, data in files.items():
            self.write(rel, data)
        logs = " ".join("-a %s" % rel for rel in files)
        args = ["run", "-p", "lr=0.1"]
        for i in inputs:
            args += ["-i", i]
        r = self.ok(*args, "--", "sh", "-c",
                    "%s runs log -m mrr=0.5@0 -m mrr=0.75@1 %s" % (CAIRN_BIN, logs))
        run_id = r.stderr.split("cairn: run ", 1)[1].split()[0]
        return run_id

    def setup_data(self):
        self.copy_example("iris.csv", "data/raw/iris.csv")
        self.raw_version = self.add1("data/raw")["version"]
        self.ok("tag", "data/raw", "v1")
        return self.commit(message="data")

    # ---- registration from a pipeline ---------------------------------------------------

    def test_register_pipeline_output_records_true_provenance(self):
        code_commit = self.setup_example()
        report = self.repro()
        self.assertEqual(self.outcomes(report), {s: "ran" for s in tp.STAGES})
        train_run = self.lock_run_ids()["train"]
        prepared = self.pointer_version("data/prepared")
        model_version = self.pointer_version("models/model.json")

        v = self.json("model", "register", "retriever", "models/model.json", "-m", "first", "--tag", "team=search")
        self.assertEqual(v["version"], 1)
        self.assertEqual(v["model"], "retriever")
        self.assertEqual(v["run"], train_run)
        self.assertEqual(v["stage"], "train")
        self.assertEqual(v["artifact"]["kind"], "blob")
        self.assertEqual(v["artifact"]["object"], "sha256:" + sha256_file(self.path("models/model.json")))
        self.assertEqual(v["artifact"]["filename"], "model.json")
        self.assertEqual(v["env"]["git.commit"], code_commit)
        self.assertEqual(v["params"], self.json("runs", "show", train_run)["params"])
        self.assertIn("train.k", v["params"])
        self.assertEqual(v["tags"], {"team": "search"})
        self.assertEqual(v["message"], "first")
        datasets = {d["dataset"]: d for d in v["datasets"]}
        self.assertEqual(set(datasets), {"data/raw", "data/prepared"})
        self.assertEqual(datasets["data/raw"]["version"], self.raw_version)
        self.assertEqual(datasets["data/raw"]["tags"], ["v1"])
        self.assertFalse(datasets["data/raw"]["direct"])  # read by prepare, upstream of train
        self.assertEqual(datasets["data/prepared"]["version"], prepared)
        self.assertTrue(datasets["data/prepared"]["direct"])
        self.assertNotIn(model_version, [d["version"] for d in v["datasets"]])  # its own output is no input
        run = self.json("runs", "show", train_run)
        self.assertEqual(v["run_record"], run["record"])

        # show (text and JSON) reads the same object back.
        self.assertEqual(self.json("model", "show", "retriever@1"), v)
        text = self.ok("model", "show", "retriever").stdout
        self.assertIn(code_commit, text)
        self.assertIn("data/raw  v1  ", text)
        self.assertIn("stage train", text)

        # The workspace output changed since the stage made it: refused.
        self.write("models/model.json", b'{"tampered": true}')
        self.fails("model", "register", "retriever", "models/model.json",
                   msg="modified since stage train produced it", hint="cairn repro")
        self.fails("model", "register", "retriever", "params.yaml", msg="not the output of any stage")
        self.assertEqual(self.json("model", "versions", "retriever")[-1]["version"], 1)

        # A directory output, and one file inside it, of another stage.
        prepare_run = self.lock_run_ids()["prepare"]
        d = self.json("model", "register", "prep", "data/prepared")
        self.assertEqual((d["artifact"]["kind"], d["artifact"]["files"], d["stage"], d["run"]),
                         ("tree", 2, "prepare", prepare_run))
        self.assertEqual([(x["dataset"], x["version"], x["direct"]) for x in d["datasets"]],
                         [("data/raw", self.raw_version, True)])
        f = self.json("model", "register", "prep", "data/prepared/train.csv")
        self.assertEqual((f["artifact"]["kind"], f["artifact"]["filename"], f["artifact"]["object"]),
                         ("blob", "train.csv", "sha256:" + sha256_file(self.path("data/prepared/train.csv"))))

        # Downstream from the raw data, lineage reaches the registered model.
        r = self.ok("lineage", "data/raw@v1", "--down", "--format", "json")
        down = {n["id"] for n in json.loads(r.stdout)["nodes"]}
        self.assertIn("model:retriever@1", down)

        # Lineage from the model reaches the raw data.
        graph = self.json_lineage("model:retriever@1")
        ids = {n["id"] for n in graph["nodes"]}
        self.assertIn("model:retriever@1", ids)
        self.assertIn("run:" + train_run, ids)
        self.assertIn("dataset:data/raw@" + self.raw_version.split(":")[1], ids)

    def json_lineage(self, target):
        r = self.ok("lineage", target, "--up", "--format", "json")
        return json.loads(r.stdout)

    # ---- registration from a run --------------------------------------------------------

    def test_register_run_artifact_file_and_directory(self):
        commit = self.setup_data()
        run_id = self.trained_run({"model.bin": b"MODEL-BYTES", "weights/a.bin": b"AAA", "weights/b/c.bin": b"CC"})
        v = self.json("model", "register", "m", "--run", run_id[:8], "--artifact", "model.bin")
        self.assertEqual(v["version"], 1)
        self.assertEqual(v["artifact"]["object"], "sha256:" + sha256_bytes(b"MODEL-BYTES"))
        self.assertEqual(v["env"]["git.commit"], commit)
        self.assertEqual(v["params"], {"lr": "0.1"})
        self.assertEqual(v["metrics"], {"mrr": 0.75})
        self.assertEqual([(d["dataset"], d["version"], d["tags"], d["direct"]) for d in v["datasets"]],
                         [("data/raw", self.raw_version, ["v1"], True)])
        d = self.json("model", "register", "m", "--run", run_id, "--artifact", "weights")
        self.assertEqual(d["version"], 2)
        self.assertEqual(d["artifact"]["kind"], "tree")
        self.assertEqual(d["artifact"]["files"], 2)

        out = os.path.join(self.tmp, "deploy")
        self.ok("model", "get", "m@2", "-o", out)
        with open(os.path.join(out, "weights", "b", "c.bin"), "rb") as f:
            self.assertEqual(f.read(), b"CC")
        with open(os.path.join(out, "provenance.json")) as f:
            prov = json.load(f)
        self.assertEqual(prov["version"], 2)
        self.assertEqual(prov["code"]["commit"], commit)
        self.assertEqual(prov["datasets"][0]["version"], self.raw_version)
        self.assertEqual(prov["datasets"][0]["tags"], ["v1"])
        self.assertEqual(sorted((f["path"], f["sha256"]) for f in prov["artifact"]["sha256"]),
                         [("weights/a.bin", sha256_bytes(b"AAA")), ("weights/b/c.bin", sha256_bytes(b"CC"))])
        self.assertEqual(prov["params"], {"lr": "0.1"})

        # Not empty: refused without --force, and left as it was.
        self.fails("model", "get", "m@1", "-o", out, msg="is not empty", hint="--force")
        self.assertTrue(os.path.exists(os.path.join(out, "weights", "a.bin")))
        self.ok("model", "get", "m@1", "-o", out, "--force")
        self.assertEqual(sorted(os.listdir(out)), ["model.bin", "provenance.json"])
        self.assertEqual(sorted(n for n in os.listdir(self.tmp) if n.startswith(".cairn-")), [])

        # Never into the repository itself, even with --force.
        self.fails("model", "get", "m@1", "-o", ".", "--force", msg="holds the repository")
        self.assertTrue(os.path.isdir(self.path(".cairn")))

        # A signature file is recorded as given; a bad one is refused.
        self.write("sig.json", json.dumps({"columns": [{"name": "sepal_length", "type": "number"},
                                                       {"name": "species", "type": "string"}]}).encode())
        s = self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "--signature", "sig.json")
        self.assertEqual(s["signature"], {"columns": [{"name": "sepal_length", "type": "number"},
                                                      {"name": "species", "type": "string"}],
                                          "source": "file:sig.json"})
        self.write("bad.json", b'{"columns": [{"name": "x", "type": "float"}]}')
        self.fails("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "--signature", "bad.json",
                   msg="has no known type")
        self.ok("model", "deprecate", "m@3")

        listed = self.json("model", "list")
        self.assertEqual([(m["name"], m["versions"], m["latest"]) for m in listed], [("m", 3, 3)])
        self.assertIn("no problems", self.ok("fsck").stdout)

    def test_register_refusals(self):
        self.setup_data()
        run_id = self.trained_run({"model.bin": b"M", "plots/loss.png": b"P"})
        self.fails("model", "register", "m", "--run", run_id, "--artifact", "model.pkl",
                   msg="never logged an artifact 'model.pkl'", hint="model.bin")
        # A run still RUNNING.
        p = self.popen("run", "--", "sh", "-c", "%s runs log -a model.bin; sleep 30" % CAIRN_BIN)
        try:
            def running():
                return [r for r in self.json("runs") if r["status"] == "RUNNING"]
            tp.wait_for(lambda: running() and self.json("runs", "show", running()[0]["id"])["artifacts"],
                        what="a RUNNING run with an artifact")
            live = running()[0]["id"]
            self.fails("model", "register", "m", "--run", live, "--artifact", "model.bin", msg="still RUNNING")
        finally:
            p.kill()
            p.communicate()
        self.fails("model", "register", "bad/name", "--run", run_id, "--artifact", "model.bin",
                   msg="invalid model name")
        self.fails("model", "register", "m", msg="either --run RUN --artifact PATH")

    def test_messages_say_what_to_do(self):
        self.setup_example()
        self.repro()
        # evaluate has no outs, only metrics.json.
        self.fails("model", "register", "knn", "metrics.json",
                   msg="metrics.json is a metrics file of stage evaluate, not one of its outputs",
                   hint="--run RUN --artifact PATH")
        train_run = self.lock_run_ids()["train"]
        self.fails("model", "register", "knn", "--run", train_run[:4], "--artifact", "models/model.json",
                   msg="too short for a run id prefix", hint="at least 6 digits")
        self.fails("model", "register", "knn", "--run", train_run, msg="--run and --artifact go together",
                   hint="--artifact PATH")
        self.fails("model", "register", "knn", os.path.join(self.tmp, "elsewhere.json"),
                   msg="is outside the repository", hint="inside the repository")
        self.ok("model", "register", "knn", "models/model.json")
        self.fails("model", "show", "knn@99999999999999999999999", msg="too large", hint="cairn model versions knn")
        self.fails("model", "show", "knn@0", msg="numbered from 1", hint="NAME@1")
        self.fails("model", "show", "knn@9", msg="has no version 9", hint="versions: 1")
        self.fails("model", "register", "mod\u00e8le", "models/model.json", msg="not '\u00e8'", hint="retriever")
        for bad in ("V3", "LATEST", "Latest", "-x"):
            self.fails("model", "alias", "knn@1", "--", bad, msg="invalid alias")
        self.ok("model", "deprecate", "knn@1")
        self.fails("model", "deprecate", "knn@1", msg="is already deprecated", hint="cairn model show knn@1")

    # ---- refs, aliases, deprecation, approvals ------------------------------------------

    def test_aliases_and_bad_refs(self):
        self.setup_data()
        run_id = self.trained_run()
        for _ in range(3):
            self.ok("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        self.ok("model", "alias", "m@2", "production", "-m", "good")
        self.assertEqual(self.json("model", "show", "m@production")["version"], 2)
        self.assertEqual(self.json("model", "show", "m@v3")["version"], 3)
        self.assertEqual(self.json("model", "show", "m@latest")["version"], 3)
        self.assertEqual(self.json("model", "show", "model:m")["aliases"], [])
        self.assertEqual(self.json("model", "show", "m@2")["aliases"], ["production"])

        self.fails("model", "shwo", "m", msg="unknown command 'shwo' for 'cairn model'", hint="cairn model show")
        self.fails("model", "show", "nosuch", msg="no model named 'nosuch'", hint="m")
        self.fails("model", "show", "m@9", msg="has no version 9", hint="1, 2, 3")
        self.fails("model", "show", "m@staging", msg="has no alias 'staging'", hint="production (v2)")
        self.fails("model", "alias", "m@1", "latest", msg="reserved")
        self.fails("model", "alias", "m@1", "v3", msg="reserved")
        self.fails("model", "alias", "m@1", "a" * 256, msg="at most 255")
        self.ok("model", "alias", "m@1", "a" * 255)

        self.ok("model", "deprecate", "m@1", "-m", "trained on leaked data")
        self.fails("model", "alias", "m@1", "staging", msg="deprecated")
        self.fails("model", "deprecate", "m@1", msg="already deprecated")
        shown = self.json("model", "show", "m@1")
        self.assertEqual(shown["deprecated"]["reason"], "trained on leaked data")

        a = self.json("model", "approve", "m@3", "-m", "checked the eval")
        self.assertEqual(a["user"], "Test User <test@example.com>")
        self.assertEqual((a["model"], a["version"]), ("m", 3))
        moved = self.json("model", "alias", "m@3", "staging")
        self.assertEqual((moved["model"], moved["alias"], moved["version"]), ("m", "staging", 3))
        self.ok("model", "alias", "m", "staging", "--delete")
        self.assertIn("(3 versions)", self.ok("model", "list").stdout)
        self.assertEqual([x["message"] for x in self.json("model", "show", "m@3")["approvals"]], ["checked the eval"])

        self.ok("model", "alias", "m", "production", "--delete")
        self.fails("model", "show", "m@production", msg="has no alias 'production'")
        self.fails("model", "alias", "m", "production", "--delete", msg="has no alias 'production'")
        versions = self.json("model", "versions", "m")
        self.assertEqual([v["version"] for v in versions], [1, 2, 3])
        self.assertIsNotNone(versions[0]["deprecated"])

    def test_two_processes_register_distinct_numbers(self):
        self.setup_data()
        run_id = self.trained_run()
        procs = [self.popen("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "--json")
                 for _ in range(4)]
        got = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, OK, err)
            got.append(json.loads(out)["version"])
        self.assertEqual(sorted(got), [1, 2, 3, 4])

    # ---- model refs as inputs -----------------------------------------------------------

    def test_model_ref_as_run_input_and_pipeline_dep(self):
        self.setup_data()
        run_id = self.trained_run()
        v1 = self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        v2 = self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        self.ok("model", "alias", "m@1", "production")
        r = self.ok("run", "-i", "model:m@production", "--", "true")
        eval_run = r.stderr.split("cairn: run ", 1)[1].split()[0]
        inputs = self.json("runs", "show", eval_run)["inputs"]
        model_inputs = [i for i in inputs if i["dataset"] == "model:m"]
        self.assertEqual(len(model_inputs), 1, inputs)
        self.assertEqual(model_inputs[0]["version"], v1["object"])
        self.assertEqual(model_inputs[0]["tag"], "production")
        # Lineage from the evaluation reaches the raw data through the model.
        graph = self.json_lineage(eval_run)
        ids = {n["id"] for n in graph["nodes"]}
        self.assertIn("model:m@1", ids)
        self.assertIn("run:" + run_id, ids)
        self.assertIn("dataset:data/raw@" + self.raw_version.split(":")[1], ids)
        self.fails("run", "-i", "model:m@staging", "--", "true", msg="has no alias 'staging'")

        # A cairn.yaml dep on the model: recorded, and stale when the alias moves.
        self.write_yaml("""
            stages:
              score:
                cmd: echo scored > score.txt
                deps: [model:m@production]
                outs: [score.txt]
            """)
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"score": "ran"})
        score_run = report[0]["run"]
        inputs = self.json("runs", "show", score_run)["inputs"]
        self.assertEqual([(i["dataset"], i["version"]) for i in inputs], [("model:m", v1["object"])])
        self.assertEqual(self.outcomes(self.repro()), {"score": "up-to-date"})
        self.ok("model", "alias", "m@2", "production")
        status = self.json("status")
        self.assertIn("dependency model:m@production changed", json.dumps(status))
        report = self.repro()
        self.assertEqual(self.outcomes(report), {"score": "ran"})
        inputs = self.json("runs", "show", report[0]["run"])["inputs"]
        self.assertEqual([(i["dataset"], i["version"]) for i in inputs], [("model:m", v2["object"])])
        # Lineage draws the dep once, as the model node (not also as a file "model:m@production").
        text = self.ok("lineage", "score.txt", "--up").stdout
        self.assertIn("model:m@2 ", text)
        self.assertNotIn("file model:", text)
        graph = self.json_lineage("score.txt")
        self.assertEqual([n["id"] for n in graph["nodes"] if "model:" in n["id"]], ["model:m@2"])

    def test_fsck_finds_damaged_registry_refs(self):
        self.setup_data()
        run_id = self.trained_run()
        v1 = self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "-m", "second")
        self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "-m", "third")
        self.ok("model", "alias", "m@1", "production")
        self.assertIn("no problems", self.ok("fsck").stdout)
        refs = os.path.join(self.cairn_dir, "refs", "models", "m")
        # An alias edited to name version 2 with version 1's object; a version ref
        # pointing at another version's object.
        alias = os.path.join(refs, "aliases", "production")
        with open(alias) as f:
            text = f.read()
        with open(alias, "w") as f:
            f.write(text.replace("version 1\n", "version 2\n"))
        with open(os.path.join(refs, "versions", "3"), "w") as f:
            f.write(v1["object"] + "\n")
        r = self.fails("fsck", code=1)
        self.assertIn("model:m@production: names object", r.stdout + r.stderr)
        self.assertIn("model:m@3: model m@3", r.stdout + r.stderr)
        self.fails("model", "show", "m@3", msg="not this version")
        self.fails("model", "show", "m@production", msg="names object", hint="cairn fsck")

    def test_fsck_damaged_version_refs_and_aliases(self):
        self.setup_data()
        run_id = self.trained_run({"model.bin": b"M", "other.bin": b"O"})
        self.json("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        other = self.json("model", "register", "other", "--run", run_id, "--artifact", "other.bin")
        self.ok("model", "alias", "m@1", "production")
        refs = os.path.join(self.cairn_dir, "refs", "models", "m")
        seven = os.path.join(refs, "versions", "7")
        for text in ("sha256:" + "0" * 64 + "\n", "garbage\n"):
            with open(seven, "w") as f:
                f.write(text)
            r = self.fails("fsck", code=1)
            self.assertIn("model:m@7", r.stdout + r.stderr)
        os.remove(seven)
        self.assertIn("no problems", self.ok("fsck").stdout)

        # A junk alias: fsck reports it; listings skip it with a warning.
        evil = os.path.join(refs, "aliases", "evil")
        with open(evil, "w") as f:
            f.write("junk\n")
        r = self.fails("fsck", code=1)
        self.assertIn("model:m@evil", r.stdout + r.stderr)
        r = self.ok("model", "list")
        self.assertIn("aliases/evil", r.stderr)
        self.assertIn("cairn fsck", r.stderr)
        self.assertEqual(self.json("model", "list")[0]["aliases"], {"production": 1})
        self.assertEqual(self.json("model", "show", "m@1")["aliases"], ["production"])
        self.fails("model", "show", "m@evil", msg="aliases/evil", hint="cairn fsck")

        # A forged alias naming another model's object: left out everywhere.
        with open(evil, "w") as f:
            f.write("cairn-alias 1\nversion 1\nobject %s\naudit 00\nuser u\ntime 1\n" % other["object"])
        self.fails("model", "show", "m@evil", msg="names object")
        self.assertEqual(self.json("model", "show", "m@1")["aliases"], ["production"])
        self.assertEqual(self.json("model", "list")[0]["aliases"], {"production": 1})
        out = os.path.join(self.tmp, "got")
        self.ok("model", "get", "m@1", "-o", out)
        with open(os.path.join(out, "provenance.json")) as f:
            self.assertEqual(json.load(f)["aliases"], ["production"])
        r = self.fails("fsck", code=1)
        self.assertIn("model:m@evil: names object", r.stdout + r.stderr)
        self.ok("model", "alias", "m", "evil", "--delete")
        self.assertIn("no problems", self.ok("fsck").stdout)

    def test_alias_delete_checks_the_version(self):
        self.setup_data()
        run_id = self.trained_run()
        for _ in range(2):
            self.ok("model", "register", "m", "--run", run_id, "--artifact", "model.bin")
        self.ok("model", "alias", "m@1", "production")
        self.fails("model", "alias", "m@2", "production", "--delete", msg="production names v1, not v2")
        self.assertEqual(self.json("model", "show", "m@production")["version"], 1)
        self.ok("model", "alias", "m@1", "production", "--delete")
        self.fails("model", "show", "m@production", msg="has no alias")

    def test_get_names_what_it_wrote_and_spares_the_cwd(self):
        self.setup_data()
        run_id = self.trained_run({"model.json": b"{}", "provenance.json": b"{}"})
        self.fails("model", "register", "m", "--run", run_id, "--artifact", "provenance.json",
                   msg="named provenance.json", hint="rename it")
        self.ok("model", "register", "m", "--run", run_id, "--artifact", "model.json")
        out = os.path.join(self.tmp, "x")
        got = self.json("model", "get", "m@1", "-o", out + "/")
        self.assertEqual(got["artifact"], os.path.join(out, "model.json"))
        self.assertEqual(got["provenance"], os.path.join(out, "provenance.json"))
        r = self.ok("model", "get", "m@1", "-o", out, "--force")
        self.assertIn(os.path.join(out, "model.json"), r.stdout)
        with open(os.path.join(out, "provenance.json")) as f:
            prov = json.load(f)
        self.assertEqual(prov["artifact"]["size"], 2)
        self.assertEqual(prov["run"]["status"], "FINISHED")

        # The shell's own working directory, inside DIR, is never moved away (-C is the repository).
        inner = os.path.join(self.tmp, "cwdtest", "in")
        os.makedirs(inner)
        self.fails("-C", self.repo, "model", "get", "m@1", "-o", os.path.join(self.tmp, "cwdtest"), "--force",
                   cwd=inner, msg="current directory")
        self.assertTrue(os.path.isdir(inner))

    def test_notes_on_a_stale_stage_and_a_second_number_for_the_same_model(self):
        self.setup_example()
        self.repro()
        r = self.ok("model", "register", "retriever", "models/model.json")
        self.assertNotIn("note:", r.stderr)
        # The code changes after the stage ran: the output is still what the lock's run made.
        with open(self.path("train.py"), "a") as f:
            f.write("# tweak\n")
        r = self.ok("model", "register", "retriever", "models/model.json")
        self.assertIn("note: stage train is stale", r.stderr)
        self.assertIn("run 'cairn repro' and register again", r.stderr)
        self.assertIn("retriever@2 holds the same artifact from the same run as retriever@1", r.stderr)

    def test_failed_run_status_is_recorded(self):
        self.setup_data()
        self.write("model.bin", b"M")
        r = self.cairn("run", "--", "sh", "-c", "%s runs log -a model.bin; exit 3" % CAIRN_BIN)
        run_id = r.stderr.split("cairn: run ", 1)[1].split()[0]
        r = self.ok("model", "register", "m", "--run", run_id, "--artifact", "model.bin", "--json")
        self.assertIn("note: run %s ended FAILED" % run_id[:8], r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual(v["run_status"], "FAILED")
        self.assertIn("FAILED", self.ok("model", "show", "m@1").stdout)

    # ---- gc ----------------------------------------------------------------------------

    def test_gc_keeps_registered_artifacts(self):
        self.setup_data()
        run_id = self.trained_run({"weights/a.bin": b"A" * 200000, "weights/b.bin": b"small"})
        self.ok("model", "register", "m", "--run", run_id, "--artifact", "weights")
        # The run's ref goes: only the registry still names the artifact.
        os.remove(os.path.join(self.cairn_dir, "refs", "runs", run_id))
        self.ok("reindex")
        # Leftovers of object writes killed before their rename: stale ones go, fresh ones stay.
        tmp = os.path.join(self.cairn_dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        for name in (".obj.tmp-old", ".obj.tmp-new"):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(b"partial")
        os.utime(os.path.join(tmp, ".obj.tmp-old"), (1, 1))
        self.ok("gc", "--apply")
        self.assertFalse(os.path.exists(os.path.join(tmp, ".obj.tmp-old")))
        self.assertTrue(os.path.exists(os.path.join(tmp, ".obj.tmp-new")))
        out = os.path.join(self.tmp, "out")
        self.ok("model", "get", "m", "-o", out)
        with open(os.path.join(out, "weights", "a.bin"), "rb") as f:
            self.assertEqual(f.read(), b"A" * 200000)
        with open(os.path.join(out, "weights", "b.bin"), "rb") as f:
            self.assertEqual(f.read(), b"small")


if __name__ == "__main__":
    unittest.main()
