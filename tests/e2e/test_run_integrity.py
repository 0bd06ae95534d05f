"""The integrity of run data: gc and reindex fail closed when a directory of
roots cannot be listed, a run record is only ever indexed under its own id
(reindex, fetch, push, fsck), experiment descriptors agree with their file
names, and runs made through the client API outlive their creator."""

import json
import os
import pwd
import shutil
import subprocess
import sys
import unittest

from cairn_testlib import CAIRN_BIN, ERROR, OK, CairnTestCase, missing, start_retrying
from test_remote import PYTHONPATH_DIR, RemoteTestCase

PYTHON = sys.executable


class Roots(CairnTestCase):
    """A repository with one run that logged an artifact."""

    as_user = None  # (uid, gid) cairn runs as; see run_unprivileged

    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(PYTHONPATH_DIR, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH_DIR)
        self.env["PYTHONPATH"] = PYTHONPATH_DIR
        self.env["PATH"] = os.path.dirname(CAIRN_BIN) + os.pathsep + self.env.get("PATH", "")
        self.write("README", "hello\n")
        self.commit(message="initial")
        self.write("model.bin", "m\n")
        self.ok("run", "-n", "r1", "--", PYTHON, "-c", "import cairn; cairn.log_artifact('model.bin')")
        self.runs_dir = os.path.join(self.cairn_dir, "refs", "runs")

    def run_unprivileged(self):
        """From now on cairn runs as 'nobody' when the test runs as root (as in CI), so that file modes
        bind it: root lists a directory of mode 000. The test's whole temporary directory (repository,
        home) is handed to that user first; the test itself stays root."""
        if os.geteuid() != 0:
            return
        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            raise missing("no user 'nobody' to run cairn as without root's rights")
        uid, gid = pw.pw_uid, pw.pw_gid
        os.lchown(self.tmp, uid, gid)
        for dirpath, dirnames, filenames in os.walk(self.tmp):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), uid, gid)
        self.as_user = (uid, gid)

    def cairn(self, *args, cwd=None, env=None, timeout=120, input=None, preexec_fn=None):
        if self.as_user is None:
            return super().cairn(*args, cwd=cwd, env=env, timeout=timeout, input=input, preexec_fn=preexec_fn)
        full_env = dict(self.env)
        full_env.update(env or {})
        uid, gid = self.as_user
        return start_retrying(lambda: subprocess.run(
            [CAIRN_BIN] + [str(a) for a in args], cwd=cwd or self.repo, env=full_env, capture_output=True,
            text=True, timeout=timeout, input=input, preexec_fn=preexec_fn, user=uid, group=gid, extra_groups=[]))

    def replace_dir(self, path, how):
        """Moves `path` aside and puts something there that cannot be listed."""
        aside = os.path.join(self.tmp, os.path.basename(path) + ".bak")
        if os.path.exists(path):
            shutil.move(path, aside)
        if how == "file":
            with open(path, "w") as f:
                f.write("junk\n")
        elif how == "dangling symlink":
            os.symlink(os.path.join(self.tmp, "nowhere"), path)

    def assert_gc_refused(self, what, drop_index=False):
        if drop_index:
            for f in ("state.db", "state.db-wal", "state.db-shm"):
                if os.path.exists(os.path.join(self.cairn_dir, f)):
                    os.remove(os.path.join(self.cairn_dir, f))
        before = self.store_snapshot()
        self.fails("gc", "--apply", msg="cannot list " + what)
        self.assertEqual(self.store_snapshot(), before, "gc removed something")

    def test_unlistable_run_refs_stop_reindex_and_gc(self):
        for how in ("file", "dangling symlink"):
            for drop_index in (False, True):
                with self.subTest(how=how, drop_index=drop_index):
                    self.replace_dir(self.runs_dir, how)
                    self.fails("reindex", msg="cannot list " + self.runs_dir)
                    self.assert_gc_refused(self.runs_dir, drop_index)
                    os.remove(self.runs_dir)
                    shutil.move(os.path.join(self.tmp, "runs.bak"), self.runs_dir)
                    self.ok("reindex")
        self.ok("gc", "--apply")
        self.assertEqual(self.ok("artifacts", "get", "r1", "model.bin", "-o", "-").stdout, "m\n")

    def test_unreadable_run_refs_stop_gc(self):
        self.run_unprivileged()
        self.ok("reindex")  # as that user, everything else is readable and writable
        os.chmod(self.runs_dir, 0)
        self.addCleanup(os.chmod, self.runs_dir, 0o755)
        self.fails("reindex", msg="cannot list " + self.runs_dir)
        self.assert_gc_refused(self.runs_dir)

    def test_no_run_refs_yet_is_empty(self):
        shutil.rmtree(self.runs_dir)
        self.assertIn("indexed 0 runs", self.ok("reindex").stdout)

    def test_unlistable_experiments_stop_reindex(self):
        path = os.path.join(self.cairn_dir, "refs", "experiments")
        self.replace_dir(path, "file")
        self.fails("reindex", msg="cannot list " + path)

    def test_unlistable_tags_and_run_cache_and_copies_stop_gc(self):
        for rel in (("refs", "tags"), ("refs", "runcache"), ("datasets",)):
            path = os.path.join(self.cairn_dir, *rel)
            with self.subTest(path=path):
                self.replace_dir(path, "dangling symlink")
                self.assert_gc_refused(path)
                os.remove(path)

    def test_dangling_lock_symlink_stops_gc(self):
        os.symlink(os.path.join(self.tmp, "nowhere"), self.path("cairn.lock"))
        before = self.store_snapshot()
        self.fails("gc", "--apply", msg="cairn.lock")
        self.assertEqual(self.store_snapshot(), before, "gc removed something")


class ExperimentDescriptors(Roots):

    def test_id_that_is_not_the_file_name_is_corruption(self):
        path = os.path.join(self.cairn_dir, "refs", "experiments", "7")
        with open(path, "w") as f:
            f.write('{"id": 5, "name": "Default"}\n')
        self.fails("reindex", msg=(path, "its id is 5, its file name 7"))
        self.assertEqual([e["name"] for e in self.json("experiments")], ["Default"])

    def test_second_descriptor_of_a_name_is_corruption(self):
        path = os.path.join(self.cairn_dir, "refs", "experiments", "7")
        with open(path, "w") as f:
            f.write('{"id": 7, "name": "Default"}\n')
        self.fails("reindex", msg=(path, "experiment 'Default' is also described by 0"))


def read_record(test, cairn_dir, rid):
    """The bytes of the record refs/runs/<rid> names (loose in the cache)."""
    with open(os.path.join(cairn_dir, "refs", "runs", rid)) as f:
        oid = f.read().strip()
    hexd = oid.split(":", 1)[1]
    p = os.path.join(cairn_dir, "cache", "sha256", hexd[:2], hexd[2:])
    test.assertTrue(os.path.exists(p), "record %s is not loose" % oid)
    with open(p, "rb") as f:
        return f.read()


def forge(cairn_dir, record, rid, name):
    """Stores a copy of `record` claiming to be run `rid` named `name`; returns its hex oid."""
    import craft
    j = json.loads(record)
    j["id"] = rid
    j["name"] = name
    return craft.put_loose(cairn_dir, json.dumps(j, sort_keys=True, separators=(",", ":")).encode())


class RecordIds(RemoteTestCase):
    """Repository c with run 'victim'; clone c3 whose owner forges a record with the victim's id."""

    def setUp(self):
        super().setUp()
        self.write("README", "runs\n")
        self.commit(message="initial")
        self.victim = self.make_run("victim", "k=1")

    def make_run(self, name, param, cwd=None):
        r = self.cairn("run", "-n", name, "-p", param, "--", "true", cwd=cwd)
        self.assertEqual(r.returncode, OK, self.describe(r))
        return r.stderr.split("cairn: run ", 1)[1].split()[0]

    def test_reindex_refuses_a_ref_naming_another_runs_record(self):
        other = self.make_run("other", "k=2")
        runs = os.path.join(self.cairn_dir, "refs", "runs")
        with open(os.path.join(runs, self.victim)) as f:
            victim_ref = f.read()
        with open(os.path.join(runs, other), "w") as f:
            f.write(victim_ref)
        self.fails("reindex", msg="refs/runs/%s names the record of another run (%s)" % (other, self.victim))
        r = self.cairn("fsck", "--json")
        rep = json.loads(r.stdout)
        self.assertFalse(rep["ok"])
        self.assertIn(other, json.dumps(rep["problems"]))
        self.assertEqual(self.json("runs", "show", other)["params"], {"k": "2"})

    def test_fetch_skips_a_forged_record_and_push_refuses_it(self):
        self.push("--runs")
        c3 = self.clone("c3")
        helper = self.make_run("helper", "k=3", cwd=c3)
        mallory = self.make_run("mallory", "k=666", cwd=c3)
        c3_dir = os.path.join(c3, ".cairn")
        # Mallory's record rewritten to claim the victim's id and name, under mallory's own ref.
        fake = forge(c3_dir, read_record(self, c3_dir, mallory), self.victim, "victim")
        mallory_ref = os.path.join(c3_dir, "refs", "runs", mallory)
        with open(mallory_ref, "w") as f:
            f.write("sha256:%s\n" % fake)
        self.fails("push", "--runs", cwd=c3, msg="refs/runs/%s names the record of another run (%s)"
                   % (mallory, self.victim))
        self.fails("fsck", cwd=c3, code=1)
        # The rest is pushed once the forged ref is out of the way ...
        shutil.move(mallory_ref, os.path.join(self.tmp, "mallory.ref"))
        self.push("--runs", cwd=c3)
        # ... and mallory writes the forged ref and record to the remote by hand.
        import craft
        with open(os.path.join(c3_dir, "cache", "sha256", fake[:2], fake[2:]), "rb") as f:
            data = f.read()
        crafted = os.path.join(self.tmp, "crafted")
        craft.write_remote(crafted, [data], runs=[(mallory, fake)])
        for n in os.listdir(os.path.join(crafted, "packs")):
            shutil.copy(os.path.join(crafted, "packs", n), self.rpath("packs", n))
        os.makedirs(self.rpath("refs", "runs", mallory))
        shutil.copy(os.path.join(crafted, "refs", "runs", mallory, fake), self.rpath("refs", "runs", mallory, fake))
        fsck = self.fsck_remote(code=1)
        self.assertIn(mallory, json.dumps(fsck["problems"]))
        rep = self.fetch("--runs")
        self.assertTrue([w for w in rep["warnings"] if mallory in w and "another run (%s)" % self.victim in w], rep)
        self.assertEqual(self.json("runs", "show", self.victim)["params"], {"k": "1"})
        self.assertEqual(self.json("runs", "show", helper)["params"], {"k": "3"})
        self.assertFalse(os.path.exists(os.path.join(self.cairn_dir, "refs", "runs", mallory)))
        self.ok("fsck")


class ModifiedInputs(Roots):

    def test_a_modified_workspace_input_is_recorded_as_modified(self):
        self.write("data/raw/a.txt", "a\n")
        self.write("data/raw/b.txt", "b\n")
        self.add("data/raw")
        self.ok("tag", "data/raw", "v1")
        r = self.ok("run", "-n", "clean", "--", "cat", "data/raw/a.txt")
        self.assertNotIn("warning", r.stderr)
        clean = self.json("runs", "show", "clean")["inputs"]
        self.assertEqual([(i["dataset"], i["tag"], i["source"], i["modified"]) for i in clean],
                         [("data/raw", "v1", "workspace", False)])
        self.append("data/raw/a.txt", "tampered\n")
        r = self.ok("run", "-n", "dirty", "--", "cat", "data/raw/a.txt")
        self.assertIn("cairn: warning: data/raw differs from its pointer's version v1", r.stderr)
        dirty = self.json("runs", "show", "dirty")
        self.assertEqual([(i["dataset"], i["version"], i["modified"]) for i in dirty["inputs"]],
                         [("data/raw", clean[0]["version"], True)])
        # The record says so too: a reindex from the records keeps it.
        os.remove(os.path.join(self.cairn_dir, "state.db"))
        self.ok("reindex")
        self.assertTrue(self.json("runs", "show", "dirty")["inputs"][0]["modified"])
        self.assertFalse(self.json("runs", "show", "clean")["inputs"][0]["modified"])


class ClientRuns(Roots):

    def python(self, code, check=True):
        r = subprocess.run([PYTHON, "-c", code], cwd=self.repo, env=self.env, capture_output=True, text=True,
                           timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, self.describe(r))
        return r

    def test_a_client_run_outlives_its_creator_and_is_resumed_elsewhere(self):
        rid = self.python("from cairn import MlflowClient\n"
                          "print(MlflowClient().create_run('0', run_name='cr').info.run_id)").stdout.strip()
        self.ok("runs")  # reaps runs whose owner is gone: not this one
        self.assertEqual(self.json("runs", "show", rid)["status"], "RUNNING")
        self.python("from cairn import MlflowClient\nMlflowClient().log_metric(%r, 'acc', 0.5)" % rid)
        self.python("import cairn\nwith cairn.start_run(run_id=%r):\n    cairn.log_param('k', '1')" % rid)
        run = self.json("runs", "show", rid)
        self.assertEqual(run["status"], "FINISHED")
        self.assertEqual(run["params"], {"k": "1"})
        self.assertEqual(run["metrics"]["acc"]["value"], 0.5)

    def test_a_fluent_run_of_a_killed_process_is_still_reaped(self):
        r = self.python("import os, cairn\nr = cairn.start_run(run_name='fl')\nprint(r.info.run_id, flush=True)\n"
                        "os.kill(os.getpid(), 9)", check=False)
        self.assertEqual(r.returncode, -9, self.describe(r))
        rid = r.stdout.strip()
        self.ok("runs")
        self.assertEqual(self.json("runs", "show", rid)["status"], "FAILED")

    def test_search_arguments_that_do_not_convert_raise_cairn_error(self):
        r = self.python("import cairn\n"
                        "for kw in ({'filter_string': '\\udcff'}, {'max_results': 2**63}):\n"
                        "    try:\n"
                        "        cairn.search_runs(search_all_experiments=True, output_format='list', **kw)\n"
                        "    except cairn.CairnError as e:\n"
                        "        print('CairnError', e)\n")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, self.describe(r))
        self.assertIn("filter is not valid text", lines[0])
        self.assertIn("max_results must be a whole number below 2**63", lines[1])


class Limits(Roots):

    def test_long_like_pattern_and_many_order_keys_are_refused(self):
        self.fails("runs", "--where", "tags.note LIKE '%" + "a" * 50001 + "'",
                   msg="filter is too large: it has a LIKE pattern of 50002 bytes; at most 10000 are allowed")
        r = self.fails("runs", "--sort", ",".join(["metrics.acc"] * 2100),
                       msg="order by is too large: it has more than 100 keys")
        self.assertNotIn("reindex", r.stderr)

    def test_gc_keep_days_must_not_be_negative(self):
        r = self.cairn("gc", "--keep-days", "-1")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("must be 0 or more, not -1", r.stderr)
        self.assertNotIn("1797", r.stderr)

    def test_a_record_metric_without_step_is_named(self):
        rid = self.json("runs")[0]["id"]
        record = json.loads(read_record(self, self.cairn_dir, rid))
        record["metrics"] = {"acc": {"value": 0.5, "timestamp": 1}}
        import craft
        fake = craft.put_loose(self.cairn_dir, json.dumps(record).encode())
        with open(os.path.join(self.runs_dir, rid), "w") as f:
            f.write("sha256:%s\n" % fake)
        r = self.fails("reindex", msg="run %s: damaged run record: metric acc lacks 'step'" % rid)
        self.assertNotIn("json.exception", r.stderr)


if __name__ == "__main__":
    unittest.main()
