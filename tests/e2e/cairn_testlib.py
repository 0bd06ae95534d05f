"""Shared helpers for cairn's end-to-end tests.

Every test gets its own temporary directory holding a real git repository
(user.name/email set locally) in which `cairn init` has already run, and drives
the real binary ($CAIRN_BIN, default ../../build/cairn relative to this file)
through subprocess. Only the Python standard library is used.
"""

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CAIRN_BIN = os.path.abspath(
    os.environ.get("CAIRN_BIN") or os.path.join(HERE, "..", "..", "build", "cairn"))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "data"))

OID_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

# Starting the binary fails with these while it is being rebuilt (during
# development); the helpers below retry for a while instead of failing.
RETRY_ERRNOS = (errno.ENOENT, errno.EACCES, errno.ETXTBSY, errno.ENOEXEC)
REBUILD_WAIT = 120  # seconds


def start_retrying(start):
    """Calls start() (which launches the cairn binary), retrying while it is missing or half-written."""
    deadline = time.monotonic() + REBUILD_WAIT
    while True:
        try:
            return start()
        except OSError as e:
            if e.errno not in RETRY_ERRNOS or time.monotonic() > deadline:
                raise
            time.sleep(1)


def wait_for(predicate, timeout=30.0, what="condition"):
    """Polls predicate() every 20 ms until it is true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


# Exit codes (doc: 0 ok, 1 check negative, 2 error).
OK, NEGATIVE, ERROR = 0, 1, 2


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def deterministic_bytes(size, seed=0):
    """`size` pseudo-random but reproducible bytes (no os.urandom: tests stay deterministic)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d:%d" % (seed, counter)).digest() * 64  # 2 KiB per step
        counter += 1
    return bytes(out[:size])


def parse_pointer(text):
    """The key/value fields of a pointer file (comments and blank lines skipped)."""
    fields = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        fields[key] = value
    return fields


def read_pack_index(idx_path):
    """Entries of a .idx file: list of (hex oid, offset, length)."""
    with open(idx_path, "rb") as f:
        data = f.read()
    assert data[:8] == b"CAIRNIX1", idx_path
    (count,) = struct.unpack_from("<Q", data, 8)
    out = []
    pos = 16
    for _ in range(count):
        oid = data[pos:pos + 32].hex()
        offset, length = struct.unpack_from("<QQ", data, pos + 32)
        out.append((oid, offset, length))
        pos += 48
    return out


def _force_rmtree(path):
    def onerror(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
        except OSError:
            pass
        try:
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=onerror)


def missing(what):
    """The exception for a test that cannot run because something is missing: a skip, except
    under CI=true, where a missing binary, package or server is a failure."""
    if os.environ.get("CI") == "true":
        return RuntimeError(what + "; CI=true: a missing dependency fails instead of skipping")
    return unittest.SkipTest(what)


def duckdb_run(sql):
    """Runs SQL in DuckDB through its C library (for writing Parquet test files)."""
    try:
        lib = ctypes.CDLL(os.environ.get("CAIRN_DUCKDB_LIBRARY", "libduckdb.so"))
    except OSError as e:
        raise missing("libduckdb.so is not installed (scripts/bootstrap installs it): %s" % e)
    lib.duckdb_result_error.restype = ctypes.c_char_p
    db, con = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.duckdb_open(None, ctypes.byref(db)) == 0
    assert lib.duckdb_connect(db, ctypes.byref(con)) == 0
    result = (ctypes.c_byte * 64)()
    rc = lib.duckdb_query(con, sql.encode(), ctypes.byref(result))
    err = lib.duckdb_result_error(ctypes.byref(result)) if rc else None
    lib.duckdb_destroy_result(ctypes.byref(result))
    lib.duckdb_disconnect(ctypes.byref(con))
    lib.duckdb_close(ctypes.byref(db))
    if rc:
        raise AssertionError("DuckDB: %s" % err)


class CairnTestCase(unittest.TestCase):
    """Base class: a fresh git repository with cairn initialised, per test."""

    use_git = True      # run `git init` in the repository
    init_cairn = True   # run `cairn init` (with --no-git when use_git is False)
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        deadline = time.monotonic() + REBUILD_WAIT  # the binary may be being rebuilt
        while not os.access(CAIRN_BIN, os.X_OK) and time.monotonic() < deadline:
            time.sleep(1)
        if not os.access(CAIRN_BIN, os.X_OK):
            raise missing("cairn binary not found at %s (set CAIRN_BIN)" % CAIRN_BIN)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-")
        self.addCleanup(_force_rmtree, self.tmp)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.repo = os.path.join(self.tmp, "repo")
        os.mkdir(self.repo)
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("GIT_") or k.startswith("CAIRN_"):
                del env[k]
        env.update({
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "CAIRN_LOCK_TIMEOUT": "10",
        })
        self.env = env
        self.init_repo()

    def init_repo(self):
        """git init (use_git) and cairn init (init_cairn) in self.repo."""
        if self.use_git:
            self.git("init", "-q", "-b", "main")
            self.git("config", "user.name", "Test User")
            self.git("config", "user.email", "test@example.com")
            self.git("config", "commit.gpgsign", "false")
        if self.init_cairn:
            args = ["init"] if self.use_git else ["init", "--no-git"]
            self.ok(*args)

    # ---- running things ---------------------------------------------------

    def cairn(self, *args, cwd=None, env=None, timeout=120, input=None, preexec_fn=None):
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        return start_retrying(lambda: subprocess.run(
            [CAIRN_BIN] + [str(a) for a in args], cwd=cwd or self.repo, env=full_env, capture_output=True,
            text=True, timeout=timeout, input=input, preexec_fn=preexec_fn))

    def popen(self, *args, cwd=None, env=None, preexec_fn=None):
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        return start_retrying(lambda: subprocess.Popen(
            [CAIRN_BIN] + [str(a) for a in args], cwd=cwd or self.repo, env=full_env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn))

    @staticmethod
    def describe(r):
        return "exit %s\n--- stdout:\n%s--- stderr:\n%s" % (r.returncode, r.stdout, r.stderr)

    def ok(self, *args, **kw):
        r = self.cairn(*args, **kw)
        self.assertEqual(r.returncode, OK, "cairn %s failed:\n%s" % (" ".join(map(str, args)), self.describe(r)))
        return r

    def json(self, *args, **kw):
        r = self.ok(*args, "--json", **kw)
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            self.fail("cairn %s --json printed invalid JSON (%s):\n%s" % (" ".join(args), e, r.stdout))

    def fails(self, *args, code=ERROR, msg=(), hint=None, **kw):
        """Runs cairn expecting exit `code`; for errors checks the 'cairn: error:' format and fragments."""
        r = self.cairn(*args, **kw)
        self.assertEqual(r.returncode, code,
                         "cairn %s: expected exit %d\n%s" % (" ".join(map(str, args)), code, self.describe(r)))
        if code == ERROR:
            self.assert_error(r, *((msg,) if isinstance(msg, str) else msg), hint=hint)
        return r

    def assert_error(self, r, *fragments, hint=None):
        self.assertIn("cairn: error: ", r.stderr, self.describe(r))
        for frag in fragments:
            self.assertIn(frag, r.stderr, self.describe(r))
        if hint is not None:
            hint_lines = [l for l in r.stderr.splitlines() if l.startswith("hint: ")]
            self.assertTrue(hint_lines, "no hint line:\n" + self.describe(r))
            self.assertIn(hint, "\n".join(hint_lines), self.describe(r))

    def git(self, *args, env=None, check=True):
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        r = subprocess.run(["git"] + list(args), cwd=self.repo, env=full_env, capture_output=True, text=True)
        if check and r.returncode != 0:
            self.fail("git %s failed:\n%s" % (" ".join(args), self.describe(r)))
        return r

    def commit(self, *paths, message="commit", date=None):
        """git add PATHS (and their .gitignore files) then commit; returns the commit id."""
        self.git("add", "-A", "--", *paths) if paths else self.git("add", "-A")
        env = None
        if date is not None:
            env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD").stdout.strip()

    # ---- files ------------------------------------------------------------

    def path(self, rel):
        return os.path.join(self.repo, rel)

    def write(self, rel, data, mode=None):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode is not None:
            os.chmod(p, mode)
        return p

    def append(self, rel, data):
        with open(self.path(rel), "ab") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def sha(self, rel):
        return sha256_file(self.path(rel))

    def copy_example(self, name, dest_rel):
        dest = self.path(dest_rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(EXAMPLES, name), dest)  # content only: the originals are read-only
        os.chmod(dest, 0o644)
        return dest

    def make_dataset_dir(self, rel="data/tables"):
        """A directory with the three example tables (one in a subdirectory)."""
        self.copy_example("iris.csv", rel + "/iris.csv")
        self.copy_example("wine_data.csv", rel + "/wine_data.csv")
        self.copy_example("breast_cancer.csv", rel + "/sub/breast_cancer.csv")
        return rel

    def pointer(self, rel):
        with open(self.path(rel + ".cairn")) as f:
            return parse_pointer(f.read())

    def pointer_bytes(self, rel):
        with open(self.path(rel + ".cairn"), "rb") as f:
            return f.read()

    # ---- the cache ----------------------------------------------------------

    @property
    def cairn_dir(self):
        return os.path.join(self.repo, ".cairn")

    def loose_path(self, oid):
        hexd = oid.split(":", 1)[-1]
        return os.path.join(self.cairn_dir, "cache", "sha256", hexd[:2], hexd[2:])

    def has_loose(self, oid):
        return os.path.exists(self.loose_path(oid))

    def pack_entries(self):
        """{hex oid: (pack path, offset, length)} for every packed object."""
        packs = os.path.join(self.cairn_dir, "cache", "packs")
        out = {}
        for name in sorted(os.listdir(packs)):
            if name.endswith(".idx"):
                pack = os.path.join(packs, name[:-4] + ".pack")
                for oid, offset, length in read_pack_index(os.path.join(packs, name)):
                    out[oid] = (pack, offset, length)
        return out

    def is_packed(self, oid):
        return oid.split(":", 1)[-1] in self.pack_entries()

    def in_cache(self, oid):
        return self.has_loose(oid) or self.is_packed(oid)

    def tmp_leftovers(self):
        d = os.path.join(self.cairn_dir, "tmp")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def tree_snapshot(self, root, skip=()):
        """{relative path: (kind, mode bits, sha256 or link target)} of everything below root."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames
                                 if os.path.normpath(os.path.join(rel_dir, d)) not in skip)
            for d in dirnames:
                out[os.path.normpath(os.path.join(rel_dir, d))] = ("dir",)
            for name in filenames:
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel in skip:
                    continue
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    out[rel] = ("link", os.readlink(p))
                elif not stat.S_ISREG(st.st_mode):
                    out[rel] = ("special", stat.S_IFMT(st.st_mode))  # never open a FIFO
                else:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), sha256_file(p))
        return out

    def workspace_snapshot(self):
        return self.tree_snapshot(self.repo, skip={".git", ".cairn"})

    def store_snapshot(self):
        """Cache, refs and tmp (state.db and the lock file are indexes, not content)."""
        return self.tree_snapshot(self.cairn_dir, skip={"state.db", "state.db-wal", "state.db-shm", "lock"})

    def full_snapshot(self):
        return (self.workspace_snapshot(), self.store_snapshot())

    def assert_unchanged(self, before):
        ws, store = before
        self.assertEqual(self.workspace_snapshot(), ws, "the workspace changed")
        self.assertEqual(self.store_snapshot(), store, "the cache/refs changed")

    def flip_byte(self, path, offset):
        os.chmod(path, 0o644)  # objects are 0444
        with open(path, "r+b") as f:
            f.seek(offset)
            b = f.read(1)
            f.seek(offset)
            f.write(bytes([b[0] ^ 0xFF]))

    # ---- common flows -------------------------------------------------------

    def add(self, *paths, name=None, message=None, cwd=None):
        """cairn add --json; returns the list of results (asserting success)."""
        args = ["add", *paths]
        if name is not None:
            args += ["--name", name]
        if message is not None:
            args += ["-m", message]
        results = self.json(*args, cwd=cwd)
        self.assertEqual(len(results), len(paths))
        return results

    def add1(self, path, **kw):
        return self.add(path, **kw)[0]

    def status(self, *paths):
        return {s["path"]: s for s in self.json("status", *paths)}

    def fsck_clean(self):
        r = self.cairn("fsck")
        self.assertEqual(r.returncode, OK, "fsck found problems:\n" + self.describe(r))
        self.assertIn("no problems", r.stdout)
        return r

    def hold_lock(self, pid_text=None):
        """Takes .cairn/lock the way cairn does (flock); returns the open file (close it to release)."""
        f = open(os.path.join(self.cairn_dir, "lock"), "a+")
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write((pid_text if pid_text is not None else str(os.getpid())) + "\n")
        f.flush()
        self.addCleanup(f.close)
        return f


def ignore_sigxfsz_and_limit(limit_bytes):
    """preexec_fn: cap the file size (RLIMIT_FSIZE) and make writes fail with EFBIG instead of a signal."""
    import resource

    def fn():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return fn
