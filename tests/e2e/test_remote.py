"""Remotes: remote add/list/remove/default, push, fetch, pull, get, fsck --remote and
gc --remote, against a directory remote and a real S3 server (moto on loopback), driven
end to end through the CLI.

Every test gets its own git repository (see cairn_testlib) with a directory remote
'origin' (the default) at <tmp>/remote. Clones are made with `git clone` beside it.
The S3 tests start `python3 -m moto.server` on a free loopback port once per class and
check what landed in the bucket independently with boto3.

Data is small (KBs to a few MB) except for the interrupted-push test, which needs more
than one 32 MiB pack to have something to interrupt.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import unittest
import urllib.error
import urllib.request

from cairn_testlib import CAIRN_BIN, ERROR, NEGATIVE, OK, CairnTestCase, missing, sha256_bytes, sha256_file

PYTHONPATH_DIR = os.path.abspath(
    os.environ.get("CAIRN_PYTHONPATH") or os.path.join(os.path.dirname(CAIRN_BIN), "python"))
PYTHON = sys.executable

REPORT_KEYS = {"versions", "tags", "runs", "objects", "objects_moved", "bytes_logical", "chunks",
               "chunks_moved", "bytes_moved", "packs", "requests", "warnings"}
NO_REMOTE_HINT = "cairn remote add"


def random_bytes(size, seed):
    """Incompressible but reproducible bytes."""
    return random.Random(seed).randbytes(size)


def text_table(rows, seed):
    """A compressible CSV of `rows` lines (reproducible)."""
    rnd = random.Random(seed)
    lines = ["id,species,length,width,score"]
    for i in range(rows):
        lines.append("%d,%s,%.2f,%.2f,%d" % (i, rnd.choice(["setosa", "versicolor", "virginica"]),
                                            rnd.uniform(1, 9), rnd.uniform(0, 3), rnd.randint(0, 100)))
    return ("\n".join(lines) + "\n").encode()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_digests(root):
    """{relative path: sha256} of every regular file below root, outside .git and .cairn."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in (".git", ".cairn")]
        for name in filenames:
            p = os.path.join(dirpath, name)
            if os.path.isfile(p) and not os.path.islink(p):
                out[os.path.normpath(os.path.join(rel_dir, name))] = sha256_file(p)
    return out


def list_tree(root):
    """Sorted relative paths of every file below root (hidden ones too)."""
    out = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def index_header(data):
    """(pack hex, pack size, chunks, recipes) from the text header of a remote .idx."""
    m = re.match(rb"cairn-packidx 1\npack ([0-9a-f]{64}) (\d+)\nchunks (\d+)\nrecipes (\d+)\n", data)
    assert m, "not a pack index: %r" % data[:80]
    return m.group(1).decode(), int(m.group(2)), int(m.group(3)), int(m.group(4))


# ---------------------------------------------------------------------------------------------
class RemoteTestCase(CairnTestCase):
    """A repository with a directory remote 'origin' (the default) at <tmp>/remote."""

    add_origin = True

    def setUp(self):
        super().setUp()
        for k in list(self.env):
            if k.startswith("AWS_"):
                del self.env[k]
        self.env["PATH"] = os.path.dirname(CAIRN_BIN) + os.pathsep + self.env.get("PATH", "")
        self.env["PYTHONPATH"] = PYTHONPATH_DIR
        self.remote = os.path.join(self.tmp, "remote")
        os.mkdir(self.remote)
        if self.add_origin:
            self.ok("remote", "add", "origin", self.remote, "-d")

    # ---- the remote ---------------------------------------------------------------

    def rpath(self, *parts):
        return os.path.join(self.remote, *parts)

    def remote_names(self, sub="packs", suffix=".pack"):
        d = self.rpath(sub)
        if not os.path.isdir(d):
            return []
        return sorted(n for n in os.listdir(d) if n.endswith(suffix) and not n.startswith("."))

    def remote_packs(self):
        return [n[:-5] for n in self.remote_names("packs", ".pack")]

    def remote_indexes(self):
        return [n[:-4] for n in self.remote_names("packs", ".idx")]

    def remote_temporaries(self):
        return [p for p in list_tree(self.remote) if os.path.basename(p).startswith(".")
                and ".tmp-" in os.path.basename(p)]

    def remote_size(self):
        return sum(os.path.getsize(self.rpath(p)) for p in list_tree(self.remote))

    def remote_snapshot(self):
        return self.tree_snapshot(self.remote)

    # ---- clones and transfers -------------------------------------------------------

    def clone(self, name="clone"):
        """git clone of the repository (commit first) beside it; returns its path."""
        dest = os.path.join(self.tmp, name)
        r = subprocess.run(["git", "clone", "-q", self.repo, dest], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "git clone failed:\n" + self.describe(r))
        for k, v in (("user.name", "Other User"), ("user.email", "other@example.com"), ("commit.gpgsign", "false")):
            subprocess.run(["git", "config", k, v], cwd=dest, env=self.env, check=True)
        return dest

    def git_in(self, where, *args):
        r = subprocess.run(["git"] + list(args), cwd=where, env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "git %s in %s failed:\n%s" % (" ".join(args), where, self.describe(r)))
        return r

    def report(self, cmd, *args, cwd=None, env=None):
        """`cairn CMD ARGS --json` (asserting success); checks the report's keys."""
        rep = self.json(cmd, *args, cwd=cwd, env=env)
        self.assertTrue(REPORT_KEYS <= set(rep), "cairn %s --json lacks keys %s: %s"
                        % (cmd, sorted(REPORT_KEYS - set(rep)), rep))
        return rep

    def push(self, *args, **kw):
        return self.report("push", *args, **kw)

    def fetch(self, *args, **kw):
        return self.report("fetch", *args, **kw)

    def pull(self, *args, **kw):
        return self.report("pull", *args, **kw)

    def fsck_remote(self, *args, code=OK, cwd=None, name="origin"):
        r = self.cairn("fsck", "--remote", name, "--json", *args, cwd=cwd)
        self.assertEqual(r.returncode, code, "fsck --remote: expected exit %d\n%s" % (code, self.describe(r)))
        rep = json.loads(r.stdout)
        self.assertEqual(rep["ok"], code == OK, rep)
        return rep

    def assert_nothing_moved(self, rep, what):
        self.assertEqual(rep["objects_moved"], 0, "%s moved objects: %s" % (what, rep))
        self.assertEqual(rep["chunks_moved"], 0, "%s moved chunks: %s" % (what, rep))

    def assert_same_files(self, root_a, root_b, what="the clone"):
        a, b = file_digests(root_a), file_digests(root_b)
        self.assertEqual(b, a, "%s does not hold the same files" % what)


# ---------------------------------------------------------------------------------------------
class RemoteConfig(RemoteTestCase):
    """remote add/list/remove/default and where the configuration goes."""

    add_origin = False

    def config_text(self):
        with open(os.path.join(self.cairn_dir, "config")) as f:
            return f.read()

    def test_add_writes_config_and_list(self):
        r = self.ok("remote", "add", "origin", self.remote, "-d")
        self.assertIn("origin", r.stdout)
        text = self.config_text()
        self.assertIn("[remote.origin]", text)
        self.assertIn(self.remote, text)
        self.assertRegex(text, r"(?m)^remote = ['\"]origin['\"]$")
        self.assertFalse(os.path.exists(os.path.join(self.cairn_dir, "config.local")),
                         "config.local written though no secret was given")
        self.assertEqual(self.json("remote", "list"),
                         [{"name": "origin", "url": self.remote, "default": True, "credentials_in_config": False}])
        self.assertIn("origin\t%s\t(default)" % self.remote, self.ok("remote", "list").stdout)

    def test_secrets_only_in_config_local(self):
        self.ok("remote", "add", "s3r", "s3://bucket/prefix", "--endpoint-url", "http://127.0.0.1:9",
                "--region", "eu-west-1", "--access-key-id", "AKIDTESTKEY", "--secret-access-key", "SeCrEtVaLuE")
        text = self.config_text()
        self.assertIn("s3://bucket/prefix", text)
        self.assertIn("http://127.0.0.1:9", text)
        self.assertIn("eu-west-1", text)
        self.assertNotIn("AKIDTESTKEY", text, ".cairn/config holds the access key id")
        self.assertNotIn("SeCrEtVaLuE", text, ".cairn/config holds the secret")
        local = os.path.join(self.cairn_dir, "config.local")
        with open(local) as f:
            local_text = f.read()
        self.assertIn("AKIDTESTKEY", local_text)
        self.assertIn("SeCrEtVaLuE", local_text)
        self.assertEqual(os.stat(local).st_mode & 0o777, 0o600, "config.local is not mode 0600")
        # git sees the config but never config.local.
        st = self.git("status", "--porcelain", "--untracked-files=all").stdout
        self.assertIn(".cairn/config\n", st)
        self.assertNotIn("config.local", st)
        self.assertEqual(self.git("check-ignore", "-q", ".cairn/config.local", check=False).returncode, 0,
                         "git does not ignore .cairn/config.local")
        self.git("add", "-A")
        self.assertNotIn("config.local", self.git("diff", "--cached", "--name-only").stdout)
        # Listing never prints secrets.
        for args in (("remote", "list"), ("remote", "list", "--json")):
            out = self.ok(*args).stdout
            self.assertNotIn("SeCrEtVaLuE", out, "cairn %s printed the secret" % " ".join(args))
        (entry,) = self.json("remote", "list")
        self.assertEqual(entry["name"], "s3r")
        self.assertEqual(entry["url"], "s3://bucket/prefix")
        self.assertEqual(entry["endpoint_url"], "http://127.0.0.1:9")
        self.assertTrue(entry["credentials_in_config"])
        # Removing the remote removes its credentials too.
        self.ok("remote", "remove", "s3r")
        with open(local) as f:
            self.assertNotIn("SeCrEtVaLuE", f.read())

    def test_s3_remote_add_needs_no_credentials(self):
        # The committed config is shared: adding an S3 remote must not require this
        # machine's credentials (they come later from the environment or ~/.aws).
        r = self.cairn("remote", "add", "s3r", "s3://bucket/prefix", "--endpoint-url", "http://127.0.0.1:9")
        self.assertEqual(r.returncode, OK, "remote add of an s3 URL without credentials in the environment "
                                           "failed:\n" + self.describe(r))
        self.assertIn("s3://bucket/prefix", self.config_text())

    def test_relative_url_is_relative_to_repo_root(self):
        os.makedirs(self.path("sub/deeper"))
        self.ok("remote", "add", "origin", "../../../remote", "-d", cwd=self.path("sub/deeper"))
        (entry,) = self.json("remote", "list")
        self.assertEqual(entry["url"], "../remote", "relative URL not stored relative to the repository root")
        # Works from anywhere in the repository and in a clone beside it.
        self.write("sub/a.bin", random_bytes(5000, 1))
        self.add1("sub/a.bin")
        rep = self.push(cwd=self.path("sub/deeper"))
        self.assertEqual(rep["objects_moved"], 2)
        self.assertTrue(os.path.isfile(self.rpath("cairn-remote")))
        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "sub/a.bin")), self.sha("sub/a.bin"))

    def test_default_and_remove(self):
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        self.ok("remote", "add", "origin", self.remote)
        self.ok("remote", "add", "backup", other)
        self.write("a.bin", random_bytes(3000, 2))
        self.add1("a.bin")
        # Two remotes and no default: push must ask.
        self.fails("push", msg="none is the default", hint="cairn remote default")
        self.ok("remote", "default", "backup")
        self.assertEqual({e["name"]: e["default"] for e in self.json("remote", "list")},
                         {"origin": False, "backup": True})
        self.push()
        self.assertTrue(os.path.isfile(os.path.join(other, "cairn-remote")), "push did not go to the default")
        self.assertFalse(os.listdir(self.remote), "push went to a non-default remote")
        self.push("-r", "origin")
        self.assertTrue(os.path.isfile(self.rpath("cairn-remote")), "-r origin was not used")
        self.fails("remote", "default", "nope", msg="no remote named 'nope'")
        # Removing the default leaves no default; the remote's data stays.
        self.ok("remote", "remove", "backup")
        self.assertEqual(self.json("remote", "list"),
                         [{"name": "origin", "url": self.remote, "default": False, "credentials_in_config": False}])
        self.assertTrue(os.path.isfile(os.path.join(other, "cairn-remote")), "remove deleted the remote's data")
        self.assertNotIn("backup", self.config_text())
        # The only remote left is used.
        self.push()

    def test_add_existing_name_needs_force(self):
        self.ok("remote", "add", "origin", self.remote)
        before = self.config_text()
        other = os.path.join(self.tmp, "other")
        self.fails("remote", "add", "origin", other, msg="already exists", hint="--force")
        self.assertEqual(self.config_text(), before)
        self.ok("remote", "add", "origin", other, "-f")
        (entry,) = self.json("remote", "list")
        self.assertEqual(entry["url"], other)

    def test_bad_url_scheme(self):
        before = self.config_text()
        for url in ("ftp://x", "http://example.com/data"):
            with self.subTest(url=url):
                self.fails("remote", "add", "x", url, msg=url, hint="s3://")
                self.assertEqual(self.config_text(), before, "a refused remote add changed the config")
        self.assertEqual(self.json("remote", "list"), [])

    def test_directory_inside_the_work_tree_is_refused(self):
        before = self.config_text()
        for url in ("s3:/bucket", "s3:bucket", "file:store", "store", "./sub/remote", self.path("inside"),
                    "file://" + self.path("x")):
            with self.subTest(url=url):
                self.fails("remote", "add", "x", url, msg=url[2:] if url.startswith("./") else url)
                self.assertEqual(self.config_text(), before, "a refused remote add changed the config")
        self.assertEqual(self.json("remote", "list"), [])
        self.assertFalse(os.path.exists(self.path("s3:")), "a typo became a directory in the work tree")
        # A committed config naming such a directory is refused when used, before anything is written.
        with open(os.path.join(self.cairn_dir, "config"), "a") as f:
            f.write('[remote.inside]\nurl = "store"\n')
        self.write("a.txt", "a\n")
        self.add("a.txt")
        self.fails("push", "-r", "inside", msg="inside the repository's work tree")
        self.assertFalse(os.path.exists(self.path("store")))

    def test_bad_names(self):
        before = self.config_text()
        self.fails("remote", "add", "-bad", self.remote)
        self.fails("remote", "add", "bad name", self.remote, msg="bad remote name")
        self.fails("remote", "remove", "nope", msg="no remote named 'nope'")
        self.assertEqual(self.config_text(), before, "a failed remote command changed the config")
        self.assertEqual(self.json("remote", "list"), [])


# ---------------------------------------------------------------------------------------------
class BadInput(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.write("data.bin", random_bytes(4000, 3))
        self.add1("data.bin")

    def test_no_remote_configured(self):
        self.ok("remote", "remove", "origin")
        for cmd in ("push", "fetch", "pull"):
            self.fails(cmd, msg="no remote is configured", hint=NO_REMOTE_HINT)
        self.fails("fsck", "--remote", "origin", msg="no remote named 'origin'", hint="cairn remote add")
        self.assertEqual(os.listdir(self.remote), [])

    def test_unknown_remote_name(self):
        for cmd in ("push", "fetch", "pull"):
            self.fails(cmd, "-r", "nope", msg="no remote named 'nope'", hint="origin")
        self.fails("gc", "--remote", "nope", msg="no remote named 'nope'")
        self.assertEqual(os.listdir(self.remote), [])

    def test_remote_directory_missing(self):
        missing = os.path.join(self.tmp, "missing", "remote")
        self.ok("remote", "add", "gone", missing)
        before = self.full_snapshot()
        # Reading from a directory remote that does not exist is an error, and creates nothing.
        for args in (("fetch", "-r", "gone"), ("pull", "-r", "gone"), ("fsck", "--remote", "gone"),
                     ("gc", "--remote", "gone")):
            self.fails(*args, msg=("does not exist", missing))
        self.assertEqual(self.workspace_snapshot(), before[0])
        r = self.cairn("get", missing, "data.bin@v1", "-o", os.path.join(self.tmp, "out"), cwd=self.tmp)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, "does not exist")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "missing")), "a read created the remote directory")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))
        # push creates it (since c5d0662), parents included.
        self.assertEqual(self.push("-r", "gone")["objects_moved"], 2)
        self.assertTrue(os.path.isfile(os.path.join(missing, "cairn-remote")))
        self.assertEqual(self.fsck_remote(name="gone")["problems"], [])

    def test_remote_path_is_a_file(self):
        afile = os.path.join(self.tmp, "afile")
        with open(afile, "w") as f:
            f.write("x\n")
        self.ok("remote", "add", "f", afile)
        for args in (("push", "-r", "f"), ("fetch", "-r", "f")):
            self.fails(*args, msg="not a directory")
        with open(afile) as f:
            self.assertEqual(f.read(), "x\n")

    def test_broken_toml_config(self):
        cfg = os.path.join(self.cairn_dir, "config")
        with open(cfg, "w") as f:
            f.write("[core]\nformat = 1\nremote = 'origin'\n\n[remote.origin\nurl = '%s'\n" % self.remote)
        for args in (("push",), ("remote", "list"), ("remote", "add", "x", self.remote), ("fetch",)):
            r = self.fails(*args)
            self.assertRegex(r.stderr, r"config:5\b", "the error does not give the line (5):\n" + self.describe(r))
        self.assertEqual(os.listdir(self.remote), [])

    def test_untracked_target(self):
        self.write("loose.txt", "not tracked\n")
        self.fails("push", "loose.txt", msg="loose.txt")
        self.fails("push", "no/such/path", msg="no/such/path")
        self.fails("push", "data.bin@nosuchtag", msg="nosuchtag")
        self.assertEqual(os.listdir(self.remote), [], "a failed push wrote to the remote")

    def test_fetch_unknown_tag(self):
        self.push()
        self.fails("fetch", "data.bin@nosuchtag", msg="nosuchtag")

    def test_push_of_data_not_in_cache(self):
        # A clone that never fetched cannot push what it does not have.
        self.commit()
        clone = self.clone()
        r = self.cairn("push", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, "not in the local cache")
        self.assertEqual(self.remote_packs(), [], "a failed push left packs")
        self.assertFalse(os.path.isdir(self.rpath("refs")) and list_tree(self.rpath("refs")))


# ---------------------------------------------------------------------------------------------
class FreshCloneLog(RemoteTestCase):
    """In a clone, versions whose data was not fetched are marked 'not fetched', with how to fetch."""

    def test_log_says_not_fetched(self):
        self.write("d.bin", random_bytes(200 * 1024, 1))
        self.add("d.bin")
        self.ok("tag", "d.bin", "v1")
        self.commit(message="v1")
        self.push()
        self.write("d.bin", random_bytes(200 * 1024, 2))
        self.add("d.bin")
        self.commit(message="v2")
        self.push()
        clone = self.clone()
        self.pull(cwd=clone)
        # The clone fetched the tagged version's object, not its data.
        log = self.json("log", "d.bin", cwd=clone)
        self.assertEqual([e["data_present"] for e in log], [True, False], log)
        out = self.ok("log", "d.bin", cwd=clone).stdout
        self.assertNotIn("removed by gc", out)
        ref = "d.bin@" + log[1]["version"].split(":")[1][:12]
        self.assertIn("[data not fetched: 'cairn pull %s' fetches it]" % ref, out)
        # The advice works.
        self.ok("pull", ref, cwd=clone)
        self.assertEqual([e["data_present"] for e in self.json("log", "d.bin", cwd=clone)], [True, True])

    def test_log_ends_at_versions_not_fetched(self):
        self.write("d.bin", random_bytes(1000, 1))
        self.add("d.bin")
        self.write("d.bin", random_bytes(1000, 2))
        self.add("d.bin")
        self.commit(message="v2")
        self.push()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(len(self.json("log", "d.bin", cwd=clone)), 1)
        self.assertIn("older versions not fetched: 'cairn pull d.bin@", self.ok("log", "d.bin", cwd=clone).stdout)


class RoundTrip(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.make_dataset_dir("data/tables")
        self.write("data/big.bin", random_bytes(600 * 1024, 10))
        self.write("models/weights.bin", random_bytes(70 * 1024, 11), mode=0o755)
        self.write("empty.txt", b"")
        self.add("data/tables", "data/big.bin", "models/weights.bin", "empty.txt")
        self.commit(message="data")

    def test_push_clone_pull_identical(self):
        rep = self.push()
        self.assertEqual(rep["versions"], 4)
        self.assertGreater(rep["objects_moved"], 0)
        self.assertEqual(rep["objects_moved"], rep["objects"])
        self.assertGreaterEqual(rep["packs"], 1)
        self.assertEqual(rep["warnings"], [])
        packs, indexes = self.remote_packs(), self.remote_indexes()
        self.assertEqual(packs, indexes, "every pack needs its index")
        self.assertEqual(len(packs), rep["packs"])
        self.assertTrue(os.path.isfile(self.rpath("cairn-remote")))
        # Everything on the wire is what landed (packs, indexes, marker).
        self.assertEqual(rep["bytes_moved"], self.remote_size())
        for hexd in packs:
            with open(self.rpath("packs", hexd + ".idx"), "rb") as f:
                name, size, _chunks, _recipes = index_header(f.read())
            self.assertEqual(name, hexd)
            self.assertEqual(size, os.path.getsize(self.rpath("packs", hexd + ".pack")))
            self.assertEqual(sha256_file(self.rpath("packs", hexd + ".pack")), hexd, "a pack is not named by its hash")
        self.assertEqual(self.remote_temporaries(), [])

        # A second push sends nothing.
        again = self.push()
        self.assert_nothing_moved(again, "a second push")
        self.assertEqual(again["packs"], 0)
        self.assertEqual(again["tags"], 0)
        self.assertEqual(self.remote_packs(), packs)

        # A fresh clone gets bit-identical files.
        clone = self.clone()
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")))
        rep = self.pull(cwd=clone)
        self.assertGreater(rep["objects_moved"], 0)
        self.assertEqual(rep["checkout"]["files_written"], 6)
        self.assert_same_files(self.repo, clone)
        self.assertTrue(os.access(os.path.join(clone, "models/weights.bin"), os.X_OK), "executable bit lost")
        self.ok("status", "--exit-code", cwd=clone)
        r = self.cairn("fsck", cwd=clone)
        self.assertEqual(r.returncode, OK, self.describe(r))
        # Fetching again moves nothing, and so does a second pull.
        rep = self.fetch(cwd=clone)
        self.assert_nothing_moved(rep, "fetch after pull")
        self.assertEqual(rep["bytes_moved"], 0, "fetch after pull downloaded data: %s" % rep)
        self.assert_nothing_moved(self.pull(cwd=clone), "a second pull")
        self.fsck_remote()

    def test_pull_some_paths(self):
        self.push()
        clone = self.clone()
        self.pull("data/big.bin", cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "data/big.bin")), self.sha("data/big.bin"))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/tables")), "pull of one path checked out others")
        self.pull(cwd=clone)
        self.assert_same_files(self.repo, clone)

    def test_pull_never_overwrites_modified_files(self):
        self.push()
        clone = self.clone()
        self.pull(cwd=clone)
        # A new version arrives through git while the clone's file was edited by hand.
        self.write("data/big.bin", random_bytes(600 * 1024, 12))
        self.add1("data/big.bin")
        self.push()
        self.commit(message="v2")
        self.git_in(clone, "pull", "-q", "--ff-only")
        target = os.path.join(clone, "data/big.bin")
        with open(target, "wb") as f:
            f.write(b"local edit\n")
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r, "data/big.bin")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"local edit\n", "pull overwrote a modified file without --force")
        self.pull("-f", cwd=clone)
        self.assertEqual(sha256_file(target), self.sha("data/big.bin"))

    def test_push_one_target(self):
        rep = self.push("data/big.bin")
        self.assertEqual(rep["versions"], 1)
        self.assertEqual(rep["objects_moved"], 2)  # the version and its blob
        clone = self.clone()
        self.pull("data/big.bin", cwd=clone)
        r = self.cairn("pull", "data/tables", cwd=clone)
        self.assertEqual(r.returncode, ERROR, "pull of a version never pushed:\n" + self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/tables")))


# ---------------------------------------------------------------------------------------------
class Dedup(RemoteTestCase):
    SIZE = 4 << 20
    CHUNK_ENV = {"CAIRN_CHUNK_AVG": "4096"}

    def test_small_change_sends_little(self):
        v1 = random_bytes(self.SIZE, 20)
        self.write("big.bin", v1)
        self.add1("big.bin")
        first = self.push(env=self.CHUNK_ENV)
        with open(self.rpath("cairn-remote")) as f:
            self.assertIn("min=1024 avg=4096 max=16384", f.read(), "CAIRN_CHUNK_AVG ignored")
        self.assertGreaterEqual(first["chunks"], 400, "expected ~1000 chunks of ~4 KiB: %s" % first)
        self.assertEqual(first["chunks_moved"], first["chunks"])
        self.assertGreaterEqual(first["bytes_moved"], self.SIZE, "random data cannot shrink")

        # Change 100 bytes in the middle and append 2 KiB.
        v2 = bytearray(v1)
        mid = self.SIZE // 2
        v2[mid:mid + 100] = random_bytes(100, 21)
        v2 += random_bytes(2048, 22)
        self.write("big.bin", bytes(v2))
        self.add1("big.bin")
        second = self.push()  # the remote keeps its chunking; no env needed
        print("\n[dedup] second push: %d of %d chunks, %d bytes sent for a %d-byte file"
              % (second["chunks_moved"], second["chunks"], second["bytes_moved"], len(v2)), file=sys.stderr)
        self.assertEqual(second["objects_moved"], 2)
        self.assertGreaterEqual(second["chunks"], first["chunks"])
        self.assertLessEqual(second["chunks_moved"], 8,
                             "a 100-byte change and a 2 KiB append sent %d of %d chunks"
                             % (second["chunks_moved"], second["chunks"]))
        self.assertLess(second["bytes_moved"], self.SIZE // 20,
                        "the second push sent %d bytes for a %d-byte file" % (second["bytes_moved"], len(v2)))
        self.assertGreater(second["bytes_logical"], self.SIZE)

        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "big.bin")), sha256_bytes(bytes(v2)))
        self.fsck_remote()

    def test_copies_and_shared_content_sent_once(self):
        block = random_bytes(256 * 1024, 23)
        self.write("d/a.bin", block)
        self.write("d/b.bin", block)                                   # the same file twice
        self.write("d/c.bin", random_bytes(1000, 24) + block)          # the same content, shifted
        self.add1("d")
        rep = self.push(env=self.CHUNK_ENV)
        # About two copies' worth of chunks, not three.
        self.assertLess(rep["bytes_moved"], 2 * len(block) * 0.6 + 20000,
                        "shared content sent more than once: %s" % rep)
        self.assertLess(rep["chunks_moved"], rep["chunks"])
        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assert_same_files(self.repo, clone)

    def test_text_is_compressed(self):
        data = text_table(40000, 25)
        self.write("table.csv", data)
        self.add1("table.csv")
        rep = self.push()
        self.assertGreater(rep["bytes_logical"], len(data))
        self.assertLess(rep["bytes_moved"], len(data) // 2,
                        "a %d-byte CSV sent %d bytes: not compressed?" % (len(data), rep["bytes_moved"]))
        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "table.csv")), sha256_bytes(data))


# ---------------------------------------------------------------------------------------------
class Tags(RemoteTestCase):

    DS = "data/set"

    def setUp(self):
        super().setUp()
        self.v1_bytes = random_bytes(50000, 30)
        self.write(self.DS + "/part.bin", self.v1_bytes)
        self.v1 = self.add1(self.DS)["version"]
        self.ok("tag", self.DS, "v1", "-m", "first")
        self.commit(message="v1")

    def remote_tag_path(self, tag, ds=None):
        return self.rpath("refs", "tags", (ds or self.DS).replace("%", "%25").replace("/", "%2F"), tag)

    def local_tags(self, where):
        return {t["tag"] if "tag" in t else t["name"]: t for t in self.json("tag", "--list", self.DS, cwd=where)}

    def test_tag_pushed_and_fetched(self):
        rep = self.push()
        self.assertEqual(rep["tags"], 1)
        path = self.remote_tag_path("v1")
        self.assertTrue(os.path.isfile(path), "no %s on the remote: %s" % (path, list_tree(self.remote)))
        with open(path) as f:
            self.assertIn(self.v1.split(":")[-1], f.read())
        clone = self.clone()
        self.assertEqual(self.local_tags(clone), {})
        rep = self.fetch(cwd=clone)
        self.assertEqual(rep["tags"], 1)
        tags = self.local_tags(clone)
        self.assertEqual(list(tags), ["v1"])
        self.assertEqual(self.json("show", self.DS + "@v1", cwd=clone)["version"], self.v1)
        # Fetching again creates nothing new.
        self.assertEqual(self.fetch(cwd=clone)["tags"], 0)

    def test_fetch_tag_only_the_remote_knows(self):
        self.write(self.DS + "/part.bin", random_bytes(50000, 31))
        self.add1(self.DS)
        self.commit(message="v2")
        self.push()  # v2 (the pointer) and v1 (its tag)
        clone = self.clone()
        self.assertEqual(self.local_tags(clone), {})
        rep = self.fetch(self.DS + "@v1", cwd=clone)
        self.assertGreater(rep["objects_moved"], 0)
        self.assertIn("v1", self.local_tags(clone))
        # The data is here now: check out v1's pointer without any further download.
        self.git_in(clone, "checkout", "-q", "HEAD~1", "--", self.DS + ".cairn")
        self.ok("checkout", cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, self.DS, "part.bin")), sha256_bytes(self.v1_bytes))

    def test_dataset_names_escaped_without_collisions(self):
        # "a/b" is stored as a%2Fb: a dataset literally named "a%2Fb" must not collide with it.
        self.write("a/b", b"slash\n")
        self.write("a%2Fb", b"percent\n")
        self.add("a/b", "a%2Fb")
        self.ok("tag", "a/b", "v1")
        self.ok("tag", "a%2Fb", "v1")
        self.commit(message="names")
        self.assertEqual(self.push()["tags"], 3)
        self.assertTrue(os.path.isfile(self.remote_tag_path("v1", "a/b")))
        self.assertTrue(os.path.isfile(self.remote_tag_path("v1", "a%2Fb")))
        self.assertNotEqual(self.remote_tag_path("v1", "a/b"), self.remote_tag_path("v1", "a%2Fb"))
        clone = self.clone()
        self.fetch(cwd=clone)
        got = {(t["dataset"], t["tag"]): t["version"] for t in self.json("tag", "--list", cwd=clone)}
        mine = {(t["dataset"], t["tag"]): t["version"] for t in self.json("tag", "--list")}
        self.assertEqual(got, mine)
        out = os.path.join(self.tmp, "g")
        r = self.cairn("get", self.remote, "a%2Fb@v1", "-o", out, cwd=self.tmp)
        self.assertEqual(r.returncode, OK, self.describe(r))
        with open(os.path.join(out, "a%2Fb"), "rb") as f:
            self.assertEqual(f.read(), b"percent\n")

    def test_conflicting_tag_keeps_the_remotes(self):
        self.push()
        other = self.clone("other")
        self.pull(cwd=other)
        # The other clone makes its own version and tags it 'rel' first.
        with open(os.path.join(other, self.DS, "part.bin"), "wb") as f:
            f.write(random_bytes(50000, 32))
        theirs = self.json("add", self.DS, cwd=other)[0]["version"]
        self.ok("tag", self.DS, "rel", cwd=other)
        self.ok("push", cwd=other)
        with open(self.remote_tag_path("rel"), "rb") as f:
            remote_tag = f.read()
        # Here, 'rel' names v1.
        self.ok("tag", self.DS, "rel")
        rep = self.push()
        self.assertEqual(len(rep["warnings"]), 1, rep)
        self.assertIn(self.DS + "@rel", rep["warnings"][0])
        self.assertEqual(rep["tags"], 0, "push wrote a tag: %s" % rep)
        r = self.cairn("push")
        self.assertEqual(r.returncode, OK)
        self.assertIn(self.DS + "@rel", r.stderr + r.stdout, "the warning is not shown without --json")
        with open(self.remote_tag_path("rel"), "rb") as f:
            self.assertEqual(f.read(), remote_tag, "push replaced the remote's tag")
        self.assertIn(theirs.split(":")[-1], remote_tag.decode())
        # Fetch keeps ours, and says so.
        rep = self.fetch()
        self.assertEqual(len(rep["warnings"]), 1, rep)
        self.assertIn(self.DS + "@rel", rep["warnings"][0])
        self.assertEqual(self.json("show", self.DS + "@rel")["version"], self.v1)
        self.fsck_remote()


# ---------------------------------------------------------------------------------------------
class Get(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.make_dataset_dir("data/tables")
        self.write("data/tables/blob.bin", random_bytes(300 * 1024, 40))
        self.tables_v1 = self.add1("data/tables")["version"]
        self.ok("tag", "data/tables", "v1")
        self.write("model.bin", random_bytes(20000, 41))
        self.add1("model.bin")
        self.ok("tag", "model.bin", "best")
        self.push()
        self.outside = os.path.join(self.tmp, "elsewhere")  # not a repository
        os.mkdir(self.outside)

    def get(self, *args, code=OK):
        r = self.cairn("get", *args, cwd=self.outside)
        self.assertEqual(r.returncode, code, "cairn get %s\n%s" % (" ".join(args), self.describe(r)))
        return r

    def parent_leftovers(self, parent=None):
        return [n for n in os.listdir(parent or self.outside) if n.startswith(".cairn-get-")]

    def test_get_into_new_directory(self):
        r = self.get(self.remote, "data/tables@v1", "-o", "out", "--json")
        rep = json.loads(r.stdout)
        self.assertEqual(rep["ref"], "data/tables@v1")
        out = os.path.join(self.outside, "out")
        self.assertEqual(file_digests(out), file_digests(self.path("data/tables")))
        self.assertEqual(self.parent_leftovers(), [])
        # Default directory name, a single-file dataset, and a relative remote path.
        self.get(os.path.relpath(self.remote, self.outside), "model.bin@best")
        self.assertEqual(sha256_file(os.path.join(self.outside, "model.bin", "model.bin")), self.sha("model.bin"))
        # By version oid, with file:// and a nested new directory.
        self.get("file://" + self.remote, "data/tables@" + self.tables_v1.split(":")[-1], "-o", "a/b/c")
        self.assertEqual(file_digests(os.path.join(self.outside, "a/b/c")), file_digests(self.path("data/tables")))
        self.assertEqual(self.parent_leftovers(os.path.join(self.outside, "a/b")), [])

    def test_get_into_empty_directory(self):
        out = os.path.join(self.outside, "empty")
        os.mkdir(out)
        self.get(self.remote, "data/tables@v1", "-o", out)
        self.assertEqual(file_digests(out), file_digests(self.path("data/tables")))

    def test_get_into_non_empty_directory(self):
        out = os.path.join(self.outside, "busy")
        os.mkdir(out)
        with open(os.path.join(out, "iris.csv"), "w") as f:
            f.write("mine\n")
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("keep\n")
        before = self.tree_snapshot(out)
        r = self.get(self.remote, "data/tables@v1", "-o", out, code=ERROR)
        self.assert_error(r, "not empty", hint="--force")
        self.assertEqual(self.tree_snapshot(out), before, "a refused get changed the directory")
        self.assertEqual(self.parent_leftovers(), [])
        # --force writes the version's files and leaves the others.
        self.get(self.remote, "data/tables@v1", "-o", out, "-f")
        got = file_digests(out)
        self.assertEqual(got.pop("keep.txt"), sha256_bytes(b"keep\n"))
        self.assertEqual(got, file_digests(self.path("data/tables")))

    def test_get_missing_tag_leaves_nothing(self):
        before = list_tree(self.outside)
        r = self.get(self.remote, "data/tables@nope", "-o", "out", code=ERROR)
        self.assert_error(r, "nope")
        self.assertFalse(os.path.exists(os.path.join(self.outside, "out")), "get created DIR after failing")
        self.assertEqual(list_tree(self.outside), before)
        self.assertEqual(self.parent_leftovers(), [])
        # An unknown dataset, a bad ref, and a version of another dataset.
        self.get(self.remote, "no/such@v1", "-o", "out", code=ERROR)
        r = self.get(self.remote, "data/tables", "-o", "out", code=ERROR)
        self.assert_error(r, "data/tables")
        model_v = self.json("show", "model.bin@best")["version"].split(":")[-1]
        r = self.get(self.remote, "data/tables@" + model_v, "-o", "out", code=ERROR)
        self.assert_error(r, "model.bin")
        self.assertFalse(os.path.exists(os.path.join(self.outside, "out")))
        self.assertEqual(self.parent_leftovers(), [])
        self.assertEqual(list_tree(self.outside), before)

    def test_get_onto_a_file(self):
        with open(os.path.join(self.outside, "afile"), "w") as f:
            f.write("x\n")
        r = self.get(self.remote, "data/tables@v1", "-o", "afile", code=ERROR)
        self.assert_error(r, "not a directory")
        with open(os.path.join(self.outside, "afile")) as f:
            self.assertEqual(f.read(), "x\n")
        self.assertEqual(self.parent_leftovers(), [])

    def test_get_of_damaged_data_leaves_nothing(self):
        for hexd in self.remote_packs():
            p = self.rpath("packs", hexd + ".pack")
            self.flip_byte(p, os.path.getsize(p) // 2)
        r = self.get(self.remote, "data/tables@v1", "-o", "out", code=ERROR)
        self.assertIn("fsck --remote", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.outside, "out")), "get created DIR after failing")
        self.assertEqual(self.parent_leftovers(), [], "get left its staging directory behind")
        self.assertEqual(list_tree(self.outside), [])
        # Nor the parent directories it had to create for DIR.
        self.get(self.remote, "data/tables@v1", "-o", "new1/new2/out", code=ERROR)
        self.assertEqual(os.listdir(self.outside), [], "a failed get left directories behind")


# ---------------------------------------------------------------------------------------------
class Runs(RemoteTestCase):

    TRAIN = textwrap.dedent("""\
        import os, sys
        import cairn
        k = int(sys.argv[1])
        print("training with k=%d" % k)
        cairn.log_metric("acc", 0.5 + k / 100.0)
        for step in range(3):
            cairn.log_metric("loss", 1.0 / (step + 1 + k), step=step)
        os.makedirs("out", exist_ok=True)
        with open("out/model-%d.bin" % k, "wb") as f:
            f.write(b"model %d " % k * 100)
        cairn.log_artifact("out/model-%d.bin" % k)
        """)

    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(PYTHONPATH_DIR, "cairn")):
            raise missing("cairn Python package not found in %s (set CAIRN_PYTHONPATH)" % PYTHONPATH_DIR)
        self.write("README", "runs\n")
        self.write(".gitignore", "out/\n")
        self.commit(message="initial")
        self.script_path = os.path.join(self.tmp, "train.py")
        with open(self.script_path, "w") as f:
            f.write(self.TRAIN)

    def make_run(self, k):
        r = self.cairn("run", "-n", "k%d" % k, "-p", "k=%d" % k, "--", PYTHON, self.script_path, str(k))
        self.assertEqual(r.returncode, OK, self.describe(r))
        m = re.search(r"cairn: run ([0-9a-f]{32}) started", r.stderr)
        self.assertTrue(m, self.describe(r))
        return m.group(1)

    def runs_by_id(self, where):
        return {r["id"]: r for r in self.json("runs", cwd=where)}

    def test_push_runs_and_fetch_in_clone(self):
        ids = [self.make_run(3), self.make_run(5)]
        plain = self.push()
        self.assertEqual(plain["runs"], 0, "push without --runs sent runs")
        self.assertFalse(os.path.isdir(self.rpath("refs", "runs")))
        rep = self.push("--runs")
        self.assertEqual(rep["runs"], 2)
        for rid in ids:
            refs = os.listdir(self.rpath("refs", "runs", rid))
            self.assertEqual(len(refs), 1)
            self.assertRegex(refs[0], r"^[0-9a-f]{64}$")
        self.assertEqual(self.push("--runs")["runs"], 0, "a second push --runs sent runs again")

        clone = self.clone()
        self.assertEqual(self.json("runs", cwd=clone), [])
        rep = self.fetch("--runs", cwd=clone)
        self.assertEqual(rep["runs"], 2)
        mine, theirs = self.runs_by_id(self.repo), self.runs_by_id(clone)
        self.assertEqual(sorted(theirs), sorted(ids))
        for rid in ids:
            for key in ("name", "params", "metrics", "status", "experiment", "start_time", "end_time", "exit_code"):
                self.assertEqual(theirs[rid][key], mine[rid][key], "run %s: %s differs in the clone" % (rid, key))
            self.assertEqual(self.json("runs", "history", rid, "loss", cwd=clone),
                             self.json("runs", "history", rid, "loss"))
        self.assertEqual(theirs[ids[0]]["params"], {"k": "3"})
        self.assertAlmostEqual(theirs[ids[1]]["metrics"]["acc"]["value"], 0.55)
        # Searching works on imported runs.
        found = self.json("runs", "--where", "metrics.acc > 0.54", cwd=clone)
        self.assertEqual([r["id"] for r in found], [ids[1]])
        # Artifacts came along.
        for rid, k in zip(ids, (3, 5)):
            r = self.cairn("artifacts", "get", rid, "model-%d.bin" % k, "-o", "-", cwd=clone)
            self.assertEqual(r.returncode, OK, self.describe(r))
            self.assertEqual(r.stdout, "model %d " % k * 100)
            r = self.cairn("artifacts", "get", rid, "cairn/stdout.log", "-o", "-", cwd=clone)
            self.assertEqual(r.returncode, OK, self.describe(r))
        # Fetching again imports nothing new.
        self.assertEqual(self.fetch("--runs", cwd=clone)["objects_moved"], 0)
        self.assertEqual(sorted(self.runs_by_id(clone)), sorted(ids))
        self.fsck_remote()

    def test_pull_runs(self):
        rid = self.make_run(7)
        self.push("--runs")
        clone = self.clone()
        self.pull("--runs", cwd=clone)
        self.assertEqual(list(self.runs_by_id(clone)), [rid])
        self.assertEqual(self.json("runs", "show", rid, cwd=clone)["params"], {"k": "7"})

    def test_running_run_not_pushed(self):
        go = os.path.join(self.tmp, "go")
        waiter = os.path.join(self.tmp, "wait.py")
        with open(waiter, "w") as f:
            f.write("import os, time\nimport cairn\ncairn.log_metric('m', 1)\n"
                    "while not os.path.exists(%r):\n    time.sleep(0.02)\n" % go)
        p = self.popen("run", "-n", "slow", "--", PYTHON, waiter)

        def stop():
            if p.poll() is None:
                open(go, "w").close()  # lets the script end, so nothing outlives the test
                try:
                    p.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
        self.addCleanup(stop)
        deadline = time.monotonic() + 30
        while not [r for r in self.json("runs") if r["status"] == "RUNNING" and "m" in r["metrics"]]:
            self.assertLess(time.monotonic(), deadline, "the run never showed up as RUNNING")
            time.sleep(0.05)
        rep = self.push("--runs")
        self.assertEqual(rep["runs"], 0, "a run still in progress was pushed")
        with open(go, "w"):
            pass
        _out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, OK, err)
        self.assertEqual(self.push("--runs")["runs"], 1)

    def test_changed_run_replaces_its_ref(self):
        rid = self.make_run(4)
        self.push("--runs")
        self.ok("runs", "log", "--run", rid, "--tag", "stage=prod")
        rep = self.push("--runs")
        self.assertEqual(rep["runs"], 1)
        self.assertEqual(len(os.listdir(self.rpath("refs", "runs", rid))), 1, "the old record's ref was kept")
        clone = self.clone()
        self.fetch("--runs", cwd=clone)
        self.assertEqual(self.json("runs", "show", rid, cwd=clone)["tags"].get("stage"), "prod")
        self.fsck_remote()


# ---------------------------------------------------------------------------------------------
class InterruptedPush(RemoteTestCase):

    BIG = 80 << 20   # 2 full packs (32 MiB) and a bit: something to interrupt

    def wait_second_boundary(self, since):
        # gc --grace 0 keeps leftovers from the current second; let it pass.
        while time.time() < since + 1.1:
            time.sleep(0.05)

    def setup_big(self):
        self.data = random_bytes(self.BIG, 50)
        self.write("big.bin", self.data)
        self.write("small.csv", text_table(2000, 51))
        self.add("big.bin", "small.csv")
        self.ok("tag", "big.bin", "v1")
        self.commit()

    def interrupted_push(self, ready, what):
        """Starts `cairn push -j 1` and kills it with SIGKILL as soon as ready() holds on the
        remote; returns the time of the kill. Starts over (empty remote) when the push wins."""
        for _attempt in range(3):
            p = self.popen("push", "-j", "1", "--json")
            killed_at = None
            while p.poll() is None:
                if ready():
                    os.kill(p.pid, signal.SIGKILL)
                    killed_at = time.time()
                    break
                time.sleep(0.002)
            p.communicate(timeout=60)
            if killed_at is not None and p.returncode == -signal.SIGKILL:
                print("\n[kill -9 %s] remote after the interrupted push: %d pack(s), %d index(es), "
                      "%d temporary file(s)" % (what, len(self.remote_packs()), len(self.remote_indexes()),
                                                len(self.remote_temporaries())), file=sys.stderr)
                # Refs go last: none can be on the remote yet.
                self.assertFalse(os.path.isdir(self.rpath("refs")) and list_tree(self.rpath("refs")),
                                 "an interrupted push left refs: %s" % list_tree(self.remote))
                return killed_at
            shutil.rmtree(self.remote)  # it finished first: start over
            os.mkdir(self.remote)
        self.skipTest("push finished before it could be interrupted (%s), 3 times" % what)

    def finish_and_check(self, killed_at, what):
        # The interrupted remote is consistent: nothing refers to missing data.
        self.fsck_remote("--quick")
        rep = self.push("-j", "1")
        print("[kill -9 %s] second push: %d of %d chunks sent, %d pack(s)"
              % (what, rep["chunks_moved"], rep["chunks"], rep["packs"]), file=sys.stderr)
        self.assertEqual(rep["tags"], 1)
        fsck = self.fsck_remote()
        self.assertEqual(fsck["problems"], [])
        self.assertEqual(fsck["refs"], 1)
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "big.bin")), sha256_bytes(self.data))
        self.assertEqual(sha256_file(os.path.join(clone, "small.csv")), self.sha("small.csv"))

        self.wait_second_boundary(killed_at)
        leftovers = [n for n in self.remote_packs() if n not in self.remote_indexes()] + self.remote_temporaries()
        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertTrue(gc["applied"])
        self.assertEqual((gc["packs_deleted"], gc["packs_rewritten"]), (0, 0), "gc touched live packs: %s" % gc)
        self.assertEqual(gc["orphans_removed"], len(leftovers), "leftovers were %s: %s" % (leftovers, gc))
        self.assertEqual(self.remote_packs(), self.remote_indexes(), "orphan packs remain")
        self.assertEqual(self.remote_temporaries(), [], "temporary files remain")
        # gc touched no live pack; a full fsck re-reads and checks every chunk.
        self.assertEqual(self.fsck_remote()["problems"], [])
        return rep

    def test_kill_9_once_a_pack_landed(self):
        self.setup_big()
        killed_at = self.interrupted_push(lambda: self.remote_packs(), "at the first pack")
        self.assertTrue(self.remote_packs())
        rep = self.finish_and_check(killed_at, "at the first pack")
        self.assertLessEqual(rep["chunks_moved"], rep["chunks"])

    def test_kill_9_after_first_index_resumes(self):
        self.setup_big()
        killed_at = self.interrupted_push(lambda: self.remote_indexes(), "at the first index")
        indexed = self.remote_indexes()
        self.assertTrue(indexed)
        rep = self.finish_and_check(killed_at, "at the first index")
        # What the first push published is not sent again.
        self.assertLess(rep["chunks_moved"], rep["chunks"], "the second push started from scratch: %s" % rep)
        self.assertLess(rep["bytes_moved"], self.BIG - 30 * (1 << 20) * len(indexed) + (1 << 20), rep)
        for hexd in indexed:
            self.assertIn(hexd, self.remote_packs(), "a pack the first push published is gone")

    def test_simulated_leftovers_removed_by_gc(self):
        # The state an interruption leaves, made by hand: a pack without its index and a
        # half-written temporary file (both older than the grace period).
        self.write("a.bin", random_bytes(200 * 1024, 52))
        self.add1("a.bin")
        self.push()
        (hexd,) = self.remote_packs()
        fake = "0" * 63 + "1"
        orphan = self.rpath("packs", fake + ".pack")
        shutil.copyfile(self.rpath("packs", hexd + ".pack"), orphan)
        temp = self.rpath("packs", ".%s.pack.tmp-12345" % ("2" * 64))
        with open(temp, "wb") as f:
            f.write(b"CAIRNPK1half")
        temp2 = self.rpath("refs", "tags", ".v9.tmp-999")
        os.makedirs(os.path.dirname(temp2), exist_ok=True)
        with open(temp2, "w") as f:
            f.write("cairn-tag 1\n")
        old = time.time() - 7200
        for p in (orphan, temp, temp2):
            os.utime(p, (old, old))
        fsck = self.fsck_remote()
        self.assertEqual(fsck["orphan_packs"], 1)
        # Dry run: reported, nothing removed.
        before = self.remote_snapshot()
        gc = self.json("gc", "--remote", "origin", "--grace", "0")
        self.assertFalse(gc["applied"])
        self.assertGreaterEqual(gc["orphans_removed"], 1)
        self.assertGreater(gc["bytes_freed"], 0)
        self.assertEqual(self.remote_snapshot(), before, "gc without --apply changed the remote")
        # With the default grace period (an hour) young leftovers would stay; these are old.
        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertEqual(gc["orphans_removed"], 3, gc)
        self.assertEqual(gc["packs_deleted"], 0)
        self.assertFalse(os.path.exists(orphan))
        self.assertFalse(os.path.exists(temp))
        self.assertFalse(os.path.exists(temp2))
        self.assertEqual(self.remote_packs(), [hexd])
        self.assertEqual(self.fsck_remote()["orphan_packs"], 0)

    def test_gc_grace_keeps_young_leftovers(self):
        self.write("a.bin", random_bytes(100 * 1024, 53))
        self.add1("a.bin")
        self.push()
        (hexd,) = self.remote_packs()
        orphan = self.rpath("packs", "f" * 64 + ".pack")
        shutil.copyfile(self.rpath("packs", hexd + ".pack"), orphan)
        gc = self.json("gc", "--remote", "origin", "--apply")  # default grace: an hour
        self.assertEqual(gc["orphans_removed"], 0)
        self.assertTrue(os.path.exists(orphan), "gc removed a young pack (maybe a push in progress)")


# ---------------------------------------------------------------------------------------------
class SharedRemote(RemoteTestCase):
    """Several clones pushing to one remote."""

    def setUp(self):
        super().setUp()
        self.write("README", "shared\n")
        self.commit(message="initial")

    def test_concurrent_pushes(self):
        a, b = self.clone("a"), self.clone("b")
        shared = random_bytes(1 << 20, 100)
        for where, seed in ((a, 101), (b, 102)):
            with open(os.path.join(where, "own.bin"), "wb") as f:
                f.write(random_bytes(1 << 20, seed))
            with open(os.path.join(where, "shared.bin"), "wb") as f:
                f.write(shared)
            self.json("add", "own.bin", "shared.bin", cwd=where)
            self.ok("tag", "own.bin", "v-" + os.path.basename(where), cwd=where)
        procs = [self.popen("push", "--json", cwd=where) for where in (a, b)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, OK, "concurrent push failed:\n" + err)
        fsck = self.fsck_remote()
        self.assertEqual(fsck["problems"], [])
        self.assertEqual(fsck["refs"], 2)
        for where in (a, b):
            out = os.path.join(self.tmp, "got-" + os.path.basename(where))
            r = self.cairn("get", self.remote, "own.bin@v-" + os.path.basename(where), "-o", out, cwd=self.tmp)
            self.assertEqual(r.returncode, OK, self.describe(r))
            self.assertEqual(sha256_file(os.path.join(out, "own.bin")), sha256_file(os.path.join(where, "own.bin")))
        # Each clone can fetch the other's tag.
        self.fetch("own.bin@v-b", cwd=a)
        self.assertEqual(self.json("show", "own.bin@v-b", cwd=a)["version"],
                         self.json("show", "own.bin@v-b", cwd=b)["version"])

    def test_gc_drops_duplicate_chunks(self):
        # Two pushes that raced both uploaded the same chunks, in different packs. Made
        # deterministically: the same content pushed to two remotes (with something more in
        # the second, so the packs differ), then merged by hand.
        data = random_bytes(1 << 20, 103)
        self.write("same.bin", data)
        self.add1("same.bin")
        self.push()
        self.write("extra.bin", random_bytes(30 * 1024, 104))
        self.add1("extra.bin")
        other = os.path.join(self.tmp, "other-remote")
        os.mkdir(other)
        self.ok("remote", "add", "other", other)
        self.push("-r", "other")
        for name in sorted(os.listdir(os.path.join(other, "packs"))):
            shutil.copyfile(os.path.join(other, "packs", name), self.rpath("packs", name))
        self.assertEqual(len(self.remote_packs()), 2, "expected two packs after the merge")
        self.assertEqual(self.fsck_remote()["problems"], [])
        before = self.remote_size()
        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        # Whichever pack the index met first keeps the chunks; the other goes (only
        # duplicates in it) or is rewritten (extra.bin is live).
        self.assertEqual(gc["packs_deleted"] + gc["packs_rewritten"], 1, gc)
        self.assertEqual(self.remote_packs(), self.remote_indexes())
        self.assertLess(self.remote_size(), before - len(data) // 2, "the duplicate copy is still there")
        self.assertEqual(self.fsck_remote()["problems"], [])
        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assert_same_files(self.repo, clone)


# ---------------------------------------------------------------------------------------------
class Corruption(RemoteTestCase):

    def setUp(self):
        super().setUp()
        self.v1 = random_bytes(400 * 1024, 60)
        self.write("data/big.bin", self.v1)
        self.write("data/notes.csv", text_table(500, 61))
        self.add("data/big.bin", "data/notes.csv")
        self.commit(message="v1")
        self.push()
        self.packs = self.remote_packs()
        self.assertEqual(len(self.packs), 1)
        self.pack = self.rpath("packs", self.packs[0] + ".pack")
        self.idx = self.rpath("packs", self.packs[0] + ".idx")

    def test_flipped_byte_in_pack(self):
        self.flip_byte(self.pack, os.path.getsize(self.pack) // 2)
        rep = self.fsck_remote(code=NEGATIVE)
        self.assertTrue(any(self.packs[0] in (p.get("name", "") + p.get("message", "")) for p in rep["problems"]),
                        "fsck does not name the damaged pack: %s" % rep["problems"])
        r = self.cairn("fsck", "--remote", "origin")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn(self.packs[0], r.stdout + r.stderr)
        # --quick reads only indexes and refs: the pack's content is not checked.
        self.fsck_remote("--quick")

        clone = self.clone()
        before = self.tree_snapshot(clone, skip={".git", ".cairn"})
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r)
        self.assertRegex(r.stderr.lower(), r"damaged|corrupt|does not match",
                         "the error does not say the data is damaged:\n" + self.describe(r))
        self.assertIn(self.packs[0][:12], r.stderr, "the error does not name the pack:\n" + self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")), "pull created a file from damaged data")
        self.assertEqual(self.tree_snapshot(clone, skip={".git", ".cairn"}), before, "pull changed the workspace")
        # get refuses too.
        r = self.cairn("get", self.remote, "data/big.bin@" + self.pointer("data/big.bin")["version"].split(":")[-1],
                       "-o", os.path.join(self.tmp, "got"), cwd=self.tmp)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "got")))

    def test_damaged_new_version_leaves_old_file(self):
        clone = self.clone()
        self.pull(cwd=clone)
        self.write("data/big.bin", random_bytes(400 * 1024, 62))
        self.add1("data/big.bin")
        self.push()
        self.commit(message="v2")
        (new_pack,) = [p for p in self.remote_packs() if p not in self.packs]
        p = self.rpath("packs", new_pack + ".pack")
        self.flip_byte(p, os.path.getsize(p) // 2)
        self.git_in(clone, "pull", "-q", "--ff-only")
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertEqual(sha256_file(os.path.join(clone, "data/big.bin")), sha256_bytes(self.v1),
                         "a failed pull changed the workspace file")
        rep = self.fsck_remote(code=NEGATIVE)
        self.assertEqual(len(rep["problems"]), 1, rep["problems"])

    def test_same_size_garbage_pack_only_full_fsck(self):
        size = os.path.getsize(self.pack)
        with open(self.pack, "wb") as f:
            f.write(random_bytes(size, 63))
        self.fsck_remote("--quick")           # sizes and indexes are fine; --quick must not read packs
        self.fsck_remote(code=NEGATIVE)

    def check_damaged_index(self, damage):
        self.fsck_remote()  # clean; the repository now has the index in its cache
        self.push()
        damage(self.idx)
        # From a place with no cached indexes, and from the repository that pushed.
        clone = self.clone()
        for where in ("a fresh clone", "the repository that pushed (its index cache holds the intact copy)"):
            for args in ((), ("--quick",)):
                with self.subTest(where=where, args=args):
                    rep = self.fsck_remote(*args, code=NEGATIVE, cwd=clone if "clone" in where else self.repo)
                    self.assertTrue(any(self.packs[0] in json.dumps(p) for p in rep["problems"]),
                                    "fsck does not name the index: %s" % rep["problems"])
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")))
        r = self.cairn("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertEqual(r.returncode, ERROR, "gc --remote with a damaged index:\n" + self.describe(r))
        self.assertTrue(os.path.exists(self.pack), "gc deleted a pack whose index is damaged")

    def test_truncated_index(self):
        def truncate(p):
            with open(p, "r+b") as f:
                f.truncate(os.path.getsize(p) // 2)
        self.check_damaged_index(truncate)

    def test_garbled_index(self):
        def garble(p):
            self.flip_byte(p, os.path.getsize(p) - 40)
        self.check_damaged_index(garble)

    def test_index_without_pack(self):
        os.remove(self.pack)
        rep = self.fsck_remote("--quick", code=NEGATIVE)
        self.assertTrue(any("has no pack" in json.dumps(p) for p in rep["problems"]), rep)

    def test_missing_tag_target(self):
        # A ref naming data the remote lacks is reported.
        self.ok("tag", "data/big.bin", "v1")
        self.push()
        os.remove(self.pack)
        os.remove(self.idx)
        rep = self.fsck_remote("--quick", code=NEGATIVE)
        self.assertTrue(any("data/big.bin@v1" in json.dumps(p) for p in rep["problems"]), rep)


# ---------------------------------------------------------------------------------------------
class RemoteGc(RemoteTestCase):
    """gc --remote in a repository without git: the workspace and tags are the only roots."""

    use_git = False

    def setUp(self):
        super().setUp()
        self.keep = random_bytes(40 * 1024, 70)
        self.write("ds/keep.bin", self.keep)
        self.write("ds/old.bin", random_bytes(600 * 1024, 71))
        self.v1 = self.add1("ds")["version"]
        self.push()
        self.v1_packs = self.remote_packs()
        self.write("solo.bin", random_bytes(300 * 1024, 72))
        self.solo_v1 = self.add1("solo.bin")["version"]
        self.push()
        self.solo_packs = [p for p in self.remote_packs() if p not in self.v1_packs]
        # v2: old.bin goes, a new file comes; solo.bin is replaced entirely.
        os.remove(self.path("ds/old.bin"))
        self.write("ds/new.bin", random_bytes(100 * 1024, 73))
        self.v2 = self.add1("ds")["version"]
        self.write("solo.bin", random_bytes(300 * 1024, 74))
        self.solo_v2 = self.add1("solo.bin")["version"]
        self.push()
        self.outside = os.path.join(self.tmp, "elsewhere")
        os.mkdir(self.outside)

    def get(self, ref, out, code=OK):
        r = self.cairn("get", self.remote, ref, "-o", out, cwd=self.outside)
        self.assertEqual(r.returncode, code, "cairn get %s\n%s" % (ref, self.describe(r)))
        return r

    def test_dry_run_then_apply(self):
        before = self.remote_snapshot()
        size_before = self.remote_size()
        dry = self.json("gc", "--remote", "origin", "--grace", "0")
        self.assertFalse(dry["applied"])
        self.assertGreater(dry["bytes_freed"], 300 * 1024, dry)
        self.assertEqual(dry["root_versions"], 2, dry)
        self.assertEqual(self.remote_snapshot(), before, "gc --remote without --apply changed the remote")
        # Without --grace, everything is too young to touch.
        young = self.json("gc", "--remote", "origin", "--apply")
        self.assertEqual(young["packs_deleted"] + young["packs_rewritten"], 0, young)
        self.assertEqual(self.remote_snapshot(), before)

        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertTrue(gc["applied"])
        self.assertGreaterEqual(gc["packs_deleted"], 1, gc)       # solo.bin v1's pack: all garbage
        self.assertGreaterEqual(gc["packs_rewritten"], 1, gc)     # ds v1's pack: keep.bin is still live
        self.assertGreaterEqual(gc["packs_written"], 1, gc)
        for p in self.solo_packs + self.v1_packs:
            self.assertNotIn(p, self.remote_packs(), "pack %s survived gc" % p)
        self.assertEqual(self.remote_packs(), self.remote_indexes())
        self.assertLess(self.remote_size(), size_before - 600 * 1024)
        self.assertAlmostEqual(size_before - self.remote_size(), gc["bytes_freed"], delta=64 * 1024)
        self.assertEqual(self.fsck_remote()["problems"], [])

        # v2 comes back identical; v1 is gone, clearly.
        self.get("ds@" + self.v2.split(":")[-1], "v2")
        self.assertEqual(file_digests(os.path.join(self.outside, "v2")), file_digests(self.path("ds")))
        self.get("solo.bin@" + self.solo_v2.split(":")[-1], "solo2")
        self.assertEqual(sha256_file(os.path.join(self.outside, "solo2", "solo.bin")), self.sha("solo.bin"))
        for ref in ("ds@" + self.v1.split(":")[-1], "solo.bin@" + self.solo_v1.split(":")[-1]):
            r = self.get(ref, "gone", code=ERROR)
            self.assert_error(r, ref.split("@")[1][:12])
            self.assertFalse(os.path.exists(os.path.join(self.outside, "gone")))
        # A second gc has nothing to do.
        again = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertEqual((again["packs_deleted"], again["packs_rewritten"], again["bytes_freed"]), (0, 0, 0), again)

        # The local cache still has v1: pushing it again restores it (the index cache must
        # not claim the remote still holds it).
        rep = self.push("ds@" + self.v1.split(":")[-1])
        self.assertGreater(rep["objects_moved"], 0, rep)
        self.get("ds@" + self.v1.split(":")[-1], "v1")
        self.assertEqual(file_digests(os.path.join(self.outside, "v1"))["keep.bin"], sha256_bytes(self.keep))
        self.assertEqual(self.fsck_remote()["problems"], [])

    def test_tags_keep_data(self):
        # A local tag is a root; once pushed, the remote's tag is one too.
        self.ok("tag", "solo.bin@" + self.solo_v1.split(":")[-1], "old")
        gc = self.json("gc", "--remote", "origin", "--grace", "0")
        self.assertEqual(gc["root_versions"], 3, gc)
        self.push()
        self.ok("tag", "--delete", "solo.bin@old")
        self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.get("solo.bin@old", "old")
        self.assertEqual(len(os.listdir(os.path.join(self.outside, "old"))), 1)
        self.assertEqual(self.fsck_remote()["problems"], [])

    def test_runs_keep_their_artifacts(self):
        # Runs on the remote are roots.
        self.env["PATH"] = os.path.dirname(CAIRN_BIN) + os.pathsep + self.env["PATH"]
        self.write("art/model.bin", random_bytes(30 * 1024, 75))
        r = self.cairn("run", "--", "sh", "-c", "cairn runs log --artifact art/model.bin")
        self.assertEqual(r.returncode, OK, self.describe(r))
        rid = re.search(r"run ([0-9a-f]{32}) started", r.stderr).group(1)
        self.push("--runs")
        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertEqual(gc["runs"], 1)
        self.assertEqual(self.fsck_remote()["problems"], [])


class RemoteGcGitHistory(RemoteTestCase):
    """In a git repository, versions named by the protected branches' history stay."""

    def test_history_keeps_old_versions(self):
        self.write("a.bin", random_bytes(200 * 1024, 76))
        v1 = self.add1("a.bin")["version"]
        self.commit(message="v1")
        self.push()
        self.write("a.bin", random_bytes(200 * 1024, 77))
        self.add1("a.bin")
        self.commit(message="v2")
        self.push()
        before = self.remote_snapshot()
        gc = self.json("gc", "--remote", "origin", "--grace", "0", "--apply")
        self.assertEqual(gc["root_versions"], 2, gc)
        self.assertEqual((gc["packs_deleted"], gc["packs_rewritten"], gc["bytes_freed"]), (0, 0, 0), gc)
        self.assertEqual(self.remote_snapshot(), before)
        # A clone can still go back to v1.
        clone = self.clone()
        self.git_in(clone, "checkout", "-q", "HEAD~1")
        self.pull(cwd=clone)
        self.assertEqual(self.json("show", "a.bin", cwd=clone)["version"], v1)


# ---------------------------------------------------------------------------------------------
class MotoServer:
    """`python3 -m moto.server` on a free loopback port; the pid we hold is the server itself."""

    def __init__(self, env=None):
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("AWS_"):
                del self.env[k]
        self.env.update(env or {})
        self.proc = None
        self.url = None

    def start(self, timeout=30):
        try:
            import moto.server  # noqa: F401
        except ImportError:
            raise missing("moto is not installed in %s" % PYTHON)
        port = free_port()
        self.log = open(os.devnull, "wb")
        self.proc = subprocess.Popen([PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     env=self.env, stdout=self.log, stderr=self.log)
        self.url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited with %s" % self.proc.returncode)
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self   # it answers
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not answer on %s" % self.url)
                time.sleep(0.1)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.proc is not None:
            self.log.close()
        self.proc = None


def s3_client(url, key="test", secret="test"):
    import boto3
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1")


class S3TestCase(RemoteTestCase):
    """A moto server for the class; each test gets its own bucket and an 's3r' remote."""

    add_origin = False
    server_env = None
    _bucket_counter = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise missing("boto3 is not installed in %s" % PYTHON)
        cls.server = MotoServer(cls.server_env).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        S3TestCase._bucket_counter += 1
        self.bucket = "cairn-test-%d" % S3TestCase._bucket_counter
        self.prefix = "team/proj"
        self.url = "s3://%s/%s" % (self.bucket, self.prefix)
        self.s3 = self.make_client()
        self.s3.create_bucket(Bucket=self.bucket)
        self.env["AWS_ACCESS_KEY_ID"] = self.access_key
        self.env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        self.ok("remote", "add", "s3r", self.url, "--endpoint-url", self.server.url, "-d")

    access_key = "test"
    secret_key = "test"

    def make_client(self):
        return s3_client(self.server.url, self.access_key, self.secret_key)

    def s3_objects(self, prefix=None):
        """{key below the remote's prefix: size}"""
        prefix = self.prefix + "/" if prefix is None else prefix
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"][len(prefix):]] = o["Size"]
        return out

    def s3_get(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=self.prefix + "/" + key)["Body"].read()


class S3Remote(S3TestCase):

    def test_round_trip(self):
        self.make_dataset_dir("data/tables")
        self.write("data/big.bin", random_bytes(700 * 1024, 80))
        self.add("data/tables", "data/big.bin")
        self.ok("tag", "data/tables", "v1")
        self.commit()
        r = self.cairn("push", "--json")
        if "not supported" in r.stderr:
            self.fail("S3 push is not implemented: " + r.stderr.strip())
        self.assertEqual(r.returncode, OK, self.describe(r))
        rep = json.loads(r.stdout)
        self.assertEqual(rep["tags"], 1)
        objects = self.s3_objects()
        packs = sorted(k for k in objects if k.startswith("packs/") and k.endswith(".pack"))
        idxs = sorted(k for k in objects if k.startswith("packs/") and k.endswith(".idx"))
        self.assertTrue(packs, objects)
        self.assertEqual([k[:-5] for k in packs], [k[:-4] for k in idxs], "every pack needs its index")
        self.assertEqual(len(packs), rep["packs"])
        self.assertIn("cairn-remote", objects)
        self.assertIn("refs/tags/data%2Ftables/v1", objects)
        self.assertEqual(self.s3_objects(""), {self.prefix + "/" + k: v for k, v in objects.items()},
                         "push wrote outside its prefix")
        self.assertEqual(sum(objects.values()), rep["bytes_moved"], "bytes_moved differs from what landed")
        for key in idxs:
            name, size, _c, _r = index_header(self.s3_get(key))
            pack_key = "packs/%s.pack" % name
            self.assertEqual(key, "packs/%s.idx" % name)
            self.assertEqual(objects[pack_key], size, "pack size differs from its index")
            self.assertEqual(sha256_bytes(self.s3_get(pack_key)), name, "pack content differs from its name")

        again = self.push()
        self.assert_nothing_moved(again, "a second push")
        self.assertEqual(again["packs"], 0)
        self.assertEqual(self.s3_objects(), objects)

        clone = self.clone()
        self.pull(cwd=clone)
        self.assert_same_files(self.repo, clone)
        self.assert_nothing_moved(self.fetch(cwd=clone), "fetch after pull")
        self.assertEqual(self.fsck_remote(name="s3r")["problems"], [])
        # Fetch of the tag in the clone.
        self.assertIn("v1", [t.get("tag", t.get("name")) for t in self.json("tag", "--list", cwd=clone)])

    def test_special_names_and_trailing_slash(self):
        self.ok("remote", "add", "s3r", "s3://%s/%s/" % (self.bucket, self.prefix), "--endpoint-url",
                self.server.url, "-d", "-f")
        self.write("d d+x/f 1.txt", b"three\n")
        self.write("a%2Fb", b"percent\n")
        self.write("a/b", b"slash\n")
        self.add("d d+x", "a%2Fb", "a/b")
        self.ok("tag", "d d+x", "v1+rc.1")
        self.ok("tag", "a%2Fb", "v1")
        self.ok("tag", "a/b", "v1")
        self.commit()
        self.push()
        keys = self.s3_objects("")
        for k in keys:
            self.assertTrue(k.startswith(self.prefix + "/") and "//" not in k, "odd key %r" % k)
        refs = sorted(k[len(self.prefix) + 1:] for k in keys if "/refs/" in k)
        self.assertEqual(refs, ["refs/tags/a%252Fb/v1", "refs/tags/a%2Fb/v1", "refs/tags/d d+x/v1+rc.1"])
        self.assertEqual(self.fsck_remote(name="s3r")["problems"], [])
        clone = self.clone()
        self.pull(cwd=clone)
        self.assert_same_files(self.repo, clone)
        self.assertEqual(len(self.json("tag", "--list", cwd=clone)), 3)
        out = os.path.join(self.tmp, "g")
        r = self.cairn("get", self.url, "d d+x@v1+rc.1", "-o", out, "--endpoint-url", self.server.url, cwd=self.tmp)
        self.assertEqual(r.returncode, OK, self.describe(r))
        with open(os.path.join(out, "f 1.txt"), "rb") as f:
            self.assertEqual(f.read(), b"three\n")

    def test_multipart_pack_and_stale_uploads(self):
        data = random_bytes(20 << 20, 91)  # one pack above the 16 MiB multipart threshold
        self.write("big.bin", data)
        self.add1("big.bin")
        self.ok("tag", "big.bin", "v1")
        rep = self.push()
        self.assertEqual(rep["packs"], 1)
        (pack_key,) = [k for k in self.s3_objects() if k.endswith(".pack")]
        head = self.s3.head_object(Bucket=self.bucket, Key=self.prefix + "/" + pack_key)
        self.assertGreater(head["ContentLength"], 16 << 20)
        self.assertRegex(head["ETag"], r"-\d+\"?$", "a %d-byte pack was not uploaded in parts" % head["ContentLength"])
        self.assertEqual(sha256_bytes(self.s3_get(pack_key)), pack_key[len("packs/"):-len(".pack")])
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        self.assertEqual(uploads, [], "push left unfinished multipart uploads")
        # An interrupted push's unfinished upload inside the prefix, and someone else's outside it.
        mine = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.prefix + "/packs/" + "e" * 64 + ".pack")
        self.s3.upload_part(Bucket=self.bucket, Key=mine["Key"], UploadId=mine["UploadId"], PartNumber=1,
                            Body=b"x" * 1024)
        theirs = self.s3.create_multipart_upload(Bucket=self.bucket, Key="elsewhere/file")
        time.sleep(1.1)  # --grace 0 spares uploads started in the current second
        gc = self.json("gc", "--remote", "s3r", "--grace", "0", "--apply")
        self.assertEqual(gc["packs_deleted"], 0, gc)
        left = [(u["Key"], u["UploadId"]) for u in
                self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])]
        self.assertEqual(left, [(theirs["Key"], theirs["UploadId"])],
                         "gc --remote should abort exactly the stale upload under its prefix")
        self.assertEqual(self.fsck_remote(name="s3r")["problems"], [])
        out = os.path.join(self.tmp, "got")
        r = self.cairn("get", self.url, "big.bin@v1", "-o", out, "--endpoint-url", self.server.url, cwd=self.tmp)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual(sha256_file(os.path.join(out, "big.bin")), sha256_bytes(data))

    def test_dedup_on_s3(self):
        v1 = random_bytes(2 << 20, 81)
        self.write("big.bin", v1)
        self.add1("big.bin")
        first = self.push(env={"CAIRN_CHUNK_AVG": "4096"})
        self.assertIn("avg=4096", self.s3_get("cairn-remote").decode())
        v2 = bytearray(v1)
        v2[1 << 20:(1 << 20) + 50] = random_bytes(50, 82)
        self.write("big.bin", bytes(v2) + b"tail" * 100)
        self.add1("big.bin")
        second = self.push()
        self.assertLessEqual(second["chunks_moved"], 8, second)
        self.assertLess(second["bytes_moved"], first["bytes_moved"] // 20, (first, second))

    def test_many_small_files_few_requests(self):
        rnd = random.Random(83)
        n = 2000
        for i in range(n):
            self.write("many/d%02d/f%04d.bin" % (i % 20, i), random_bytes(rnd.randint(1024, 4096), 1000 + i))
        self.add1("many")
        rep = self.push()
        self.assertEqual(rep["objects_moved"], n + 2)  # the files, the tree, the version
        print("\n[S3] push of %d small files: %d requests, %d packs, %d bytes"
              % (n, rep["requests"], rep["packs"], rep["bytes_moved"]), file=sys.stderr)
        self.assertLessEqual(rep["requests"], n // 100,
                             "push of %d small files made %d requests" % (n, rep["requests"]))
        self.commit()
        clone = self.clone()
        rep = self.pull(cwd=clone)
        print("[S3] pull of %d small files: %d requests" % (n, rep["requests"]), file=sys.stderr)
        self.assertLessEqual(rep["requests"], n // 20, "pull of %d small files made %d requests"
                             % (n, rep["requests"]))
        self.assert_same_files(self.repo, clone)

    def test_get_from_s3(self):
        self.make_dataset_dir("data/tables")
        self.add1("data/tables")
        self.ok("tag", "data/tables", "v1")
        self.push()
        outside = os.path.join(self.tmp, "elsewhere")
        os.mkdir(outside)
        r = self.cairn("get", self.url, "data/tables@v1", "-o", "out", "--endpoint-url", self.server.url,
                       "--json", cwd=outside)
        self.assertEqual(r.returncode, OK, self.describe(r))
        self.assertEqual(file_digests(os.path.join(outside, "out")), file_digests(self.path("data/tables")))
        r = self.cairn("get", self.url, "data/tables@nope", "-o", "out2", "--endpoint-url", self.server.url,
                       cwd=outside)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertEqual(sorted(os.listdir(outside)), ["out"])

    def test_missing_bucket(self):
        self.ok("remote", "add", "nob", "s3://no-such-bucket-here/x", "--endpoint-url", self.server.url)
        self.write("a.bin", random_bytes(2000, 84))
        self.add1("a.bin")
        for args in (("push", "-r", "nob"), ("fetch", "-r", "nob"), ("fsck", "--remote", "nob")):
            r = self.fails(*args, msg="no-such-bucket-here")
        r = self.cairn("get", "s3://no-such-bucket-here/x", "a.bin@v1", "-o", os.path.join(self.tmp, "o"),
                       "--endpoint-url", self.server.url, cwd=self.tmp)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("no-such-bucket-here", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "o")))

    def test_unreachable_endpoint(self):
        closed = "http://127.0.0.1:%d" % free_port()
        self.ok("remote", "add", "dead", self.url, "--endpoint-url", closed)
        self.write("a.bin", random_bytes(2000, 85))
        self.add1("a.bin")
        for args in (("push", "-r", "dead"), ("fetch", "-r", "dead")):
            t0 = time.monotonic()
            r = self.fails(*args, msg="127.0.0.1", timeout=60)
            self.assertLess(time.monotonic() - t0, 10, "cairn %s took too long to give up" % args[0])
            self.assertIn("hint: ", r.stderr)

    def test_missing_credentials(self):
        self.write("a.bin", random_bytes(2000, 86))
        self.add1("a.bin")
        env = dict(self.env)
        del self.env["AWS_ACCESS_KEY_ID"]
        del self.env["AWS_SECRET_ACCESS_KEY"]
        try:
            self.fails("push", msg="credentials", hint="AWS_ACCESS_KEY_ID")
        finally:
            self.env = env

    def test_corrupted_pack(self):
        self.write("data/big.bin", random_bytes(300 * 1024, 87))
        self.add1("data/big.bin")
        self.commit()
        self.push()
        (pack_key,) = [k for k in self.s3_objects() if k.endswith(".pack")]
        body = bytearray(self.s3_get(pack_key))
        body[len(body) // 2] ^= 0xFF
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix + "/" + pack_key, Body=bytes(body))
        clone = self.clone()
        before = self.tree_snapshot(clone, skip={".git", ".cairn"})
        r = self.cairn("pull", cwd=clone)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assert_error(r)
        self.assertFalse(os.path.exists(os.path.join(clone, "data/big.bin")))
        self.assertEqual(self.tree_snapshot(clone, skip={".git", ".cairn"}), before)
        self.fsck_remote(name="s3r", code=NEGATIVE)

    def test_gc_on_s3(self):
        self.write("a.bin", random_bytes(200 * 1024, 88))
        self.add1("a.bin")
        self.push()
        old = set(self.s3_objects())
        self.write("a.bin", random_bytes(200 * 1024, 89))
        self.add1("a.bin")
        self.push()
        gc = self.json("gc", "--remote", "s3r", "--grace", "0", "--apply")
        self.assertGreaterEqual(gc["packs_deleted"], 1, gc)
        gone = old - set(self.s3_objects())
        self.assertTrue(any(k.endswith(".pack") for k in gone), "no pack deleted on S3: %s" % gc)
        self.assertEqual(self.fsck_remote(name="s3r")["problems"], [])


class S3WrongCredentials(S3TestCase):
    """moto with enforced authentication: a wrong secret is refused."""

    server_env = {"INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    keys = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import boto3
        iam = boto3.client("iam", endpoint_url=cls.server.url, aws_access_key_id="test",
                           aws_secret_access_key="test", region_name="us-east-1")
        try:
            iam.create_user(UserName="cairn")
            key = iam.create_access_key(UserName="cairn")["AccessKey"]
            policy = iam.create_policy(PolicyName="all", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            iam.attach_user_policy(UserName="cairn", PolicyArn=policy["Policy"]["Arn"])
        except Exception:
            cls.server.stop()
            raise
        cls.access_key = key["AccessKeyId"]
        cls.secret_key = key["SecretAccessKey"]

    def setUp(self):
        super().setUp()
        self.write("a.bin", random_bytes(5000, 90))
        self.add1("a.bin")
        self.ok("tag", "a.bin", "v1")
        self.outside = os.path.join(self.tmp, "elsewhere")
        os.mkdir(self.outside)

    def moto_checks_slash_prefixes(self):
        """moto 5.2.1 with enforced auth refuses any list whose prefix holds a '/' (sent, as
        SigV4 requires, as %2F), even from boto3 with the right key."""
        try:
            self.s3.list_objects_v2(Bucket=self.bucket, Prefix="packs/")
            return True
        except Exception as e:
            if "SignatureDoesNotMatch" in str(e):
                return False
            raise

    def test_right_key_works(self):
        # Authentication is enforced: every request must be signed correctly.
        if not self.moto_checks_slash_prefixes():
            self.skipTest("this moto rejects boto3's own correctly signed ListObjectsV2 with prefix 'packs/' "
                          "(SignatureDoesNotMatch) under enforced auth, so no client can push here")
        self.push()
        keys = self.s3_objects()
        self.assertIn("refs/tags/a.bin/v1", keys)
        self.assertEqual(self.fsck_remote(name="s3r")["problems"], [])
        self.commit()
        clone = self.clone()
        self.pull(cwd=clone)
        self.assertEqual(sha256_file(os.path.join(clone, "a.bin")), self.sha("a.bin"))
        r = self.cairn("get", self.url, "a.bin@v1", "-o", "out", "--endpoint-url", self.server.url, cwd=self.outside)
        self.assertEqual(r.returncode, OK, self.describe(r))

    def test_wrong_secret_refused(self):
        wrong = "wrong" + self.secret_key[5:]
        # boto3 with a wrong secret is refused too: the server really checks.
        bad = s3_client(self.server.url, self.access_key, wrong)
        with self.assertRaises(Exception):
            bad.list_objects_v2(Bucket=self.bucket)
        env = {"AWS_SECRET_ACCESS_KEY": wrong}
        for args in (("push",), ("fetch",), ("fsck", "--remote", "s3r")):
            t0 = time.monotonic()
            r = self.cairn(*args, env=env, timeout=60)
            self.assertEqual(r.returncode, ERROR, "cairn %s with a wrong secret\n%s" % (args[0], self.describe(r)))
            self.assert_error(r)
            self.assertRegex(r.stderr.lower(), r"credential|signature",
                             "the error does not point at the credentials:\n" + self.describe(r))
            self.assertLess(time.monotonic() - t0, 10, "cairn %s retried a refused request too long" % args[0])
        self.assertEqual(self.s3_objects(""), {}, "a refused push wrote something")
        r = self.cairn("get", self.url, "a.bin@v1", "-o", "out", "--endpoint-url", self.server.url,
                       env=env, cwd=self.outside)
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertEqual(os.listdir(self.outside), [])


if __name__ == "__main__":
    unittest.main()
