#!/usr/bin/env python3
"""cairn remote benchmark: what a push stores and how fast push and pull are.

Two parts, each in fresh git repositories after `cairn init`:
  edit   a generated CSV of ~1 GiB (BENCH_CSV_MB) and its second version: 1% of
         the rows rewritten in one region, 20 scattered one-field fixes and 1%
         more rows appended.  Bytes that pushing version 2 adds to a directory
         remote, as % of the file (goal: <= 3%), against restic and git-lfs
         (whole files; DVC stores whole files too); wall time of push v1, push
         v2 and pull into a fresh clone against cp, rsync -a, restic
         backup/restore and git-lfs push/pull (to a bare repository on disk).
  small  100 000 files of 1-16 KiB (BENCH_SMALL_FILES) in a nested tree, added
         as one dataset: push to a directory remote and pull into a fresh clone
         against cp -r, rsync -a and restic backup/restore; then push to S3 (a
         moto server on loopback): backend requests per file (goal: <= 1/100),
         objects in the bucket (counted with boto3), and the fetch's requests.

Usage: bench/remote.py [--quick] [--only edit,small]
Standard library only, plus git, git-lfs, rsync, restic and, for the S3 step,
boto3 and moto in this Python.  Also run by bench/run (make bench) as its
"remote" section.  See bench/README.md.
"""

import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import benchlib  # noqa: E402  bench/benchlib.py: what the benchmark sections share
from benchlib import (  # noqa: E402
    KIB, MIB, BenchError, cairn_repo, env_flag, env_int, first_line, fmt_mib, fmt_pct, fmt_r, fmt_s, git_init, log, rm,
    rows_text)

PARTS = ("edit", "small")
FULL = {"csv_mb": 1024, "small_files": 100_000}
QUICK = {"csv_mb": 128, "small_files": 5_000}

# Goal ids continue bench/run's (1-3) and bench/tracking.py's (4-6).
GOAL_EDIT_PCT = 3.0
GOAL_REQUESTS_PER_FILE = 1 / 100
GOALS_DOC = [
    (7, "edit: pushing version 2 of the CSV adds <= 3% of the file size to a directory remote"),
    (8, "small files: S3 push needs <= 1 backend request per 100 files"),
]

S3_BUCKET = "cairn-bench"
S3_PREFIX = "small"


def make_config(quick=None, parts=None):
    """The remote-benchmark configuration; environment variables override the defaults."""
    quick, base = benchlib.sizes_for(quick, FULL, QUICK)
    cfg = {
        "quick": quick,
        "parts": benchlib.env_parts("BENCH_REMOTE_PARTS", PARTS, "remote", parts),
        "csv_mb": env_int("BENCH_CSV_MB", base["csv_mb"]),
        "small_files": env_int("BENCH_SMALL_FILES", base["small_files"]),
        "s3": env_flag("BENCH_REMOTE_S3", True),
        "seed": env_int("BENCH_SEED", 20240601),
        "verify": env_flag("BENCH_VERIFY", True),
        "keep": env_flag("BENCH_KEEP"),
    }
    if cfg["csv_mb"] < 1 or cfg["small_files"] < 100:
        sys.exit("bench: BENCH_CSV_MB must be >= 1 and BENCH_SMALL_FILES >= 100")
    return cfg


def small_disk_bytes(n):
    """Blocks used by n files of 1-16 KiB (uniform): mean 8.5 KiB -> ~10.5 KiB on disk."""
    return n * 10_752


def disk_need(cfg):
    """Scratch bytes at the section's peak (the parts run one after the other)."""
    need = 256 * MIB
    if "edit" in cfg["parts"]:
        # workspace, cairn cache (v1+v2), git-lfs workspace + .git/lfs (v1+v2) + bare
        # remote (v1+v2), rsync copy, remote, restic repository, one download at a time.
        need = max(need, 12 * cfg["csv_mb"] * MIB)
    if "small" in cfg["parts"]:
        # data, a copy and its copy (then deleted), cache, remote, restic repository,
        # a restored tree, a clone with its cache.
        need = max(need, 6 * small_disk_bytes(cfg["small_files"]))
    return need + 512 * MIB


def inode_need(cfg):
    return (8 * cfg["small_files"] if "small" in cfg["parts"] else 0) + 20_000


def s3_available(python=None):
    """None when boto3 and moto import in `python` (default: this one), else why not."""
    p = subprocess.run([python or sys.executable, "-c", "import boto3, moto.server"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if p.returncode == 0:
        return None
    return (p.stderr.strip().splitlines() or ["?"])[-1]


def missing_prereqs(cfg):
    """Problems that stop the section before it starts, as a list of messages."""
    tools = ["git", "rsync", "restic", "cp", "cmp", "diff"]
    if "edit" in cfg["parts"]:
        tools.append("git-lfs")
    missing = [t for t in tools if not shutil.which(t)]
    return [f"missing tools: {' '.join(missing)} (run 'scripts/bootstrap --bench')"] if missing else []


# ---------------------------------------------------------------------------
# Repositories, trees, checks
# ---------------------------------------------------------------------------

def git_commit_all(ctx, repo, msg):
    ctx.run(["git", "add", "-A"], cwd=repo)
    ctx.run(["git", "commit", "-q", "-m", msg], cwd=repo)


def clone(ctx, src, dest, env=None):
    ctx.run(["git", "clone", "-q", src, dest], cwd=ctx.workdir, env=env)
    for k, v in (("user.name", "cairn bench"), ("user.email", "bench@example.invalid")):
        ctx.run(["git", "config", k, v], cwd=dest)


def tree_size(path):
    """(apparent bytes, files) of the regular files under path (0, 0 when absent)."""
    total = files = 0
    if os.path.isfile(path):
        return os.path.getsize(path), 1
    for dirpath, _, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            if not os.path.islink(os.path.join(dirpath, n)):
                total += st.st_size
                files += 1
    return total, files


def shares_inodes(a, b):
    """True when a file under tree a is a hard link of one under tree b."""
    def inodes(root):
        out = set()
        for dirpath, _, names in os.walk(root):
            for n in names:
                st = os.lstat(os.path.join(dirpath, n))
                out.add((st.st_dev, st.st_ino))
        return out
    return bool(inodes(a) & inodes(b))


def pull_fresh(ctx, repo, base, what, original, rel):
    """`cairn pull` (timed) into a fresh clone of repo, checked against `original`
    (REL in the clone); then split_pull in a second clone.  Returns (seconds,
    pull report, split)."""
    cl = os.path.join(base, "clone")
    clone(ctx, repo, cl)
    wall, pull = ctx.cairn_json(["pull"], cl, f"{what}: cairn pull (fresh clone)")
    verify(ctx, original, os.path.join(cl, rel), "cairn pull")
    rm(cl)
    return wall, pull, split_pull(ctx, repo, base, "clone2", what)


def split_pull(ctx, repo, base, name, what):
    """In a second fresh clone: `cairn fetch` and `cairn checkout` timed separately.
    Returns {"fetch": s, "checkout": s, "fetch_report": {...}}."""
    cl = os.path.join(base, name)
    clone(ctx, repo, cl)
    f_s, rep = ctx.cairn_json(["fetch"], cl, f"{what}: cairn fetch (2nd fresh clone)")
    c_s, _ = ctx.run([ctx.cairn, "checkout"], cl, label=f"{what}: cairn checkout (after the fetch)")
    rm(cl)
    return {"fetch": f_s, "checkout": c_s, "fetch_report": rep}


def verify(ctx, a, b, what):
    """Untimed check that b has the content of a: cmp for a file, diff -rq for a tree (BENCH_VERIFY=0 skips it)."""
    if not ctx.cfg["verify"]:
        return
    tree = os.path.isdir(a)
    argv = ["diff", "-rq", "--", a, b] if tree else ["cmp", "--", a, b]
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        why = f":\n{(p.stdout + p.stderr)[-2000:]}" if tree else f": {p.stdout.strip()} {p.stderr.strip()}"
        raise BenchError(f"{what}: {b} differs from {a}{why}")
    log(f"  (untimed check: {what} output identical, {' '.join(argv[:-3])} {time.perf_counter() - t0:.1f} s)")


def pack_index_chunks(path):
    """[(stored, raw, codec)] of the chunk entries of a packs/<hex>.idx file (format:
    doc/formats.md, "Pack index": text header lines, then 49-byte entries: oid 32,
    offset u64, stored u32, raw u32, codec u8, little-endian); None if it does not parse."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n", 4)
        if lines[0] != b"cairn-packidx 1" or not lines[2].startswith(b"chunks "):
            return None
        n = int(lines[2].split()[1])
        pos = sum(len(x) + 1 for x in lines[:4])
        out = []
        for i in range(n):
            e = data[pos + 49 * i:pos + 49 * (i + 1)]
            if len(e) != 49:
                return None
            out.append((int.from_bytes(e[40:44], "little"), int.from_bytes(e[44:48], "little"), e[48]))
        return out
    except (OSError, ValueError, IndexError):
        return None


def packs_in(rdir):
    d = os.path.join(rdir, "packs")
    return {n for n in os.listdir(d) if n.endswith(".idx")} if os.path.isdir(d) else set()


def raw_bytes_of(rdir, idx_names):
    """Uncompressed bytes of the chunks listed by these index files (None if one does not parse)."""
    total = 0
    for n in idx_names:
        entries = pack_index_chunks(os.path.join(rdir, "packs", n))
        if entries is None:
            return None
        total += sum(raw for _, raw, _ in entries)
    return total


def restored_path(target, cwd, rel):
    """Where `restic restore --target TARGET` put what was backed up as REL from CWD:
    restic 0.14-0.16 keep the relative path, newer versions the absolute one."""
    for p in (os.path.join(target, rel), os.path.join(target, os.path.relpath(os.path.join(cwd, rel), "/"))):
        if os.path.lexists(p):
            return p
    raise BenchError(f"restic restore: {rel} not found under {target}")


# ---------------------------------------------------------------------------
# Data: a CSV and its edited second version
# ---------------------------------------------------------------------------
#
# Rows are assembled column-wise so that a GiB takes seconds in pure Python:
# a block of n rows is a fixed-width bytearray (n x W), every byte position of
# the record is filled with one strided slice assignment, and the NUL padding
# that makes variable-length fields fit a fixed width is removed at the end.
# A random field is one or more "segments": one random byte per row selects
# one of 256 pre-formatted strings (translate() per byte position).  id and
# time are counters (one row per second).  Everything derives from the seed;
# block b always draws from Random(f"{seed}:csv:{b}:{variant}"), so version 1
# and 2 are identical outside the edits.

CSV_HEADER = b"id,time,device,firmware,site,temperature,humidity,amount,score,count,status,session,user\n"
CSV_T0 = 1_704_067_200  # 2024-01-01T00:00:00Z; row i is at CSV_T0 + i seconds
CSV_BLOCK_ROWS = 1 << 18


def _segment(strings):
    """256 strings -> the translate tables of its byte positions (right-aligned, NUL-padded)."""
    assert len(strings) == 256
    w = max(len(s) for s in strings)
    padded = [s.encode().rjust(w, b"\0") for s in strings]
    return [bytes(p[j] for p in padded) for j in range(w)]


def _weighted(rng, values, weights):
    """256 entries drawn so that each value appears about in proportion to its weight."""
    out = []
    total = sum(weights)
    for v, w in zip(values, weights):
        out += [v] * max(1, round(256 * w / total))
    rng.shuffle(out)
    return (out + out)[:256]


def counter_digits(start, n, width):
    """Columns (most significant first) of the decimal digits of start .. start+n-1,
    NUL where a number has fewer than `width` digits."""
    cols = []
    for p in range(width - 1, -1, -1):
        run = 10 ** p
        period = run * 10
        if period <= 4 * n:
            pattern = b"".join(bytes([48 + d]) * run for d in range(10))
            off = start % period
            col = (pattern * ((off + n) // period + 1))[off:off + n]
        else:
            parts, c, end = [], start, start + n
            while c < end:
                q = c // run
                e = min(end, (q + 1) * run)
                parts.append(bytes([48 + q % 10]) * (e - c))
                c = e
            col = b"".join(parts)
        if p > 0:
            k = max(0, min(n, run - start))
            if k:
                col = b"\0" * k + col[k:]
        cols.append(col)
    return cols


class CsvGen:
    """Deterministic CSV of about target_bytes and its second version.

    Version 2: rows [region_start, region_end) (1% of the rows, starting at
    40%) get new values in every field but id and time; 20 rows elsewhere get a
    new `amount`; 1% more rows are appended."""

    def __init__(self, seed, target_bytes):
        self.seed = seed
        rng = random.Random(f"{seed}:csv-tables")
        digits = "0123456789"

        def rnd_digits(k):
            return ["".join(rng.choice(digits) for _ in range(k)) for _ in range(256)]

        kinds = ("thermo", "hygro", "meter", "valve", "pump", "fan", "gate", "relay")
        devices = [f"{k}-{j:02d}" for k in kinds for j in range(1, 9)]
        sites = ["eu-west-1", "eu-central-1", "us-east-1", "us-east-2", "us-west-2", "ap-south-1",
                 "ap-northeast-1", "sa-east-1"]
        layout = []  # items: ("counter", base, width) | ("const", bytes) | ("seg", tables)
        fields = {}

        def field(name, *items):
            fields[name] = (len(layout), len(items))
            layout.extend(items)
            layout.append(("const", b","))

        self._id_width = 1  # set by _plan
        field("id", ("counter", 0, None))
        field("time", ("counter", CSV_T0, 10), ("const", b"."), ("seg", _segment(rnd_digits(3))))
        field("device", ("seg", _segment(_weighted(rng, devices, [1 / (i + 1) for i in range(len(devices))]))))
        field("firmware", ("seg", _segment(_weighted(rng, [f"fw{a}.{b}.{c}" for a in (2, 3) for b in range(8)
                                                           for c in range(0, 10, 3)], [1] * 64))))
        field("site", ("seg", _segment(_weighted(rng, sites, [8, 6, 9, 4, 5, 3, 3, 2]))))
        field("temperature", ("seg", _segment([str(round(rng.gauss(18, 9))) for _ in range(256)])),
              ("const", b"."), ("seg", _segment(rnd_digits(2))))
        field("humidity", ("seg", _segment([str(rng.randint(15, 99)) for _ in range(256)])),
              ("const", b"."), ("seg", _segment(rnd_digits(1))))
        field("amount", ("seg", _segment([str(int(rng.lognormvariate(4, 1.6))) for _ in range(256)])),
              ("const", b"."), ("seg", _segment(rnd_digits(2))))
        field("score", ("const", b"0."), ("seg", _segment(rnd_digits(3))), ("seg", _segment(rnd_digits(3))))
        field("count", ("seg", _segment([str(int(rng.expovariate(1 / 40))) for _ in range(256)])))
        field("status", ("seg", _segment(_weighted(rng, ["ok", "warn", "error", "retry"], [90, 6, 2, 2]))))
        field("session", *[("seg", _segment([f"{v:02x}" for v in range(256)])) for _ in range(4)])
        field("user", ("const", b"u"), ("seg", _segment([f"{v:03d}" for v in rng.sample(range(1000), 256)])),
              ("seg", _segment([f"{v:02d}" for v in range(100)] * 2 + [f"{v:02d}" for v in range(56)])))
        layout[-1] = ("const", b"\n")
        self.layout = layout
        self.fields = fields
        self._plan(target_bytes)

    def _item_width(self, item):
        kind = item[0]
        if kind == "counter":
            return item[2] or self._id_width
        if kind == "const":
            return len(item[1])
        return len(item[1])

    def _plan(self, target_bytes):
        # Row count from the mean row length of the first block (ids sized for 10^8 rows first).
        self._id_width = 9
        self.width = sum(self._item_width(it) for it in self.layout)
        sample = self._block(0, 0)
        mean = len(bytes(sample).replace(b"\0", b"")) / CSV_BLOCK_ROWS
        self.rows_v1 = max(1000, round((target_bytes - len(CSV_HEADER)) / mean))
        self.rows_v2 = self.rows_v1 + self.rows_v1 // 100
        self._id_width = len(str(self.rows_v2 - 1))
        self.width = sum(self._item_width(it) for it in self.layout)
        self.offsets = []
        off = 0
        for it in self.layout:
            self.offsets.append(off)
            off += self._item_width(it)
        self.region = (int(self.rows_v1 * 0.40), int(self.rows_v1 * 0.40) + self.rows_v1 // 100)
        rng = random.Random(f"{self.seed}:csv-fixes")
        fixes = set()
        while len(fixes) < 20:
            r = rng.randrange(self.rows_v1)
            if not self.region[0] <= r < self.region[1]:
                fixes.add(r)
        self.fixes = sorted(fixes)
        self._fix_rng = rng

    def _block(self, b, variant):
        """Fixed-width records of rows b*B .. (b+1)*B-1 (always a full block)."""
        n = CSV_BLOCK_ROWS
        start = b * n
        rng = random.Random(f"{self.seed}:csv:{b}:{variant}")
        w = self.width
        buf = bytearray(n * w)
        pos = 0
        for it in self.layout:
            kind = it[0]
            if kind == "const":
                for j, ch in enumerate(it[1]):
                    buf[pos + j::w] = bytes([ch]) * n
                pos += len(it[1])
            elif kind == "counter":
                cols = counter_digits(it[1] + start, n, it[2] or self._id_width)
                for j, col in enumerate(cols):
                    buf[pos + j::w] = col
                pos += len(cols)
            else:
                src = rng.randbytes(n)
                for j, table in enumerate(it[1]):
                    buf[pos + j::w] = src.translate(table)
                pos += len(it[1])
        assert pos == w
        return buf

    def _fix(self, buf, row_in_block, row):
        """Gives `row` a new amount (both segments re-drawn) in place."""
        first, count = self.fields["amount"]
        lo = self.offsets[first]
        hi = self.offsets[first + count - 1] + self._item_width(self.layout[first + count - 1])
        r = row_in_block * self.width
        old = bytes(buf[r + lo:r + hi])
        rng = random.Random(f"{self.seed}:csv-fix:{row}")
        while True:
            new = b""
            for it in self.layout[first:first + count]:
                if it[0] == "const":
                    new += it[1]
                else:
                    v = rng.randrange(256)
                    new += bytes(t[v] for t in it[1])
            if new.replace(b"\0", b"") != old.replace(b"\0", b""):
                break
        buf[r + lo:r + hi] = new

    def write(self, path, version):
        """Writes version 1 or 2 to path; returns its size."""
        rows = self.rows_v1 if version == 1 else self.rows_v2
        w = self.width
        with open(path, "wb") as f:
            f.write(CSV_HEADER)
            for b in range(math.ceil(rows / CSV_BLOCK_ROWS)):
                start = b * CSV_BLOCK_ROWS
                n = min(CSV_BLOCK_ROWS, rows - start)
                buf = self._block(b, 0)
                if version == 2:
                    lo, hi = max(start, self.region[0]), min(start + n, self.region[1])
                    if lo < hi:
                        alt = self._block(b, 1)
                        buf[(lo - start) * w:(hi - start) * w] = alt[(lo - start) * w:(hi - start) * w]
                    for row in self.fixes:
                        if start <= row < start + n:
                            self._fix(buf, row - start, row)
                del buf[n * w:]
                f.write(buf.replace(b"\0", b""))
        return os.path.getsize(path)

    def describe(self):
        r0, r1 = self.region
        return (f"v1 {self.rows_v1:,} rows; v2: rows {r0:,}-{r1 - 1:,} ({(r1 - r0):,} rows, 1%) rewritten, "
                f"20 scattered rows with a new amount, {self.rows_v2 - self.rows_v1:,} rows (1%) appended")


# ---------------------------------------------------------------------------
# Data: many small text-like files
# ---------------------------------------------------------------------------

def _text_table():
    """Byte -> character with roughly English letter frequencies, spaces and newlines:
    random text that compresses to ~55-60% (no repeated strings)."""
    freq = {" ": 40, "\n": 4, "e": 25, "t": 18, "a": 16, "o": 15, "i": 14, "n": 14, "s": 13, "h": 12, "r": 12,
            "d": 9, "l": 8, "c": 6, "u": 6, "m": 5, "w": 5, "f": 4, "g": 4, "y": 4, "p": 4, "b": 3, "v": 2,
            "k": 1, ",": 2, ".": 2, "0": 1, "1": 1, "2": 1, "x": 1, "j": 1, "q": 1, "z": 1}
    out = []
    total = sum(freq.values())
    for ch, w in freq.items():
        out += [ord(ch)] * max(1, round(256 * w / total))
    return bytes((out + out)[:256])


TEXT_TABLE = _text_table()


def small_path(root, i, n):
    """root/dTT/M/fIIIIII.txt: 100 files per leaf directory, 10 leaves per top directory."""
    tw = max(2, len(str(max(0, n - 1) // 1000)))
    iw = max(6, len(str(n - 1)))
    return os.path.join(root, f"d{i // 1000:0{tw}d}", str((i // 100) % 10), f"f{i:0{iw}d}.txt")


def gen_text_files(root, n, seed, min_bytes, max_bytes, tag="small"):
    """n files of min..max bytes (uniform) of random text under root; returns total bytes."""
    rng = random.Random(f"{seed}:{tag}")
    total = 0
    made = set()
    for i in range(n):
        path = small_path(root, i, n)
        d = os.path.dirname(path)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        size = rng.randint(min_bytes, max_bytes)
        head = f"# {tag} file {i} seed {seed}\n".encode()
        with open(path, "wb") as f:
            f.write(head + rng.randbytes(max(0, size - len(head))).translate(TEXT_TABLE))
        total += max(size, len(head))
    return total


# ---------------------------------------------------------------------------
# S3 on loopback (moto)
# ---------------------------------------------------------------------------

class MotoServer:
    """`python -m moto.server` on 127.0.0.1:<free port>; the pid held is the server's."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.url = None

    def start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.logf = open(os.path.join(self.ctx.logdir, "moto.log"), "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     env=self.ctx.env, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"moto server exited with {self.proc.returncode} (see {self.logf.name})")
            try:
                opener.open(self.url + "/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.2)
        raise BenchError("moto server did not answer within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        self.proc = None

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.ctx.env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.ctx.env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1",
                            config=Config(proxies={}))


def s3_objects(client, bucket, prefix):
    """[(key, size)] of every object under prefix (list_objects_v2, paginated)."""
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
    return out


# ---------------------------------------------------------------------------
# Part 1: edit of a big CSV
# ---------------------------------------------------------------------------

def restic_summary(out):
    for line in reversed(out.strip().splitlines()):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("message_type") == "summary":
            return d
    return {}


def bench_edit(ctx):
    cfg = ctx.cfg
    base = os.path.join(ctx.workdir, "edit")
    repo = os.path.join(base, "repo")       # cairn
    lfs = os.path.join(base, "lfs")         # git-lfs workspace (receives the cp copies)
    lfs_bare = os.path.join(base, "lfs.git")
    rs = os.path.join(base, "rsync")        # rsync -a copies
    remote = os.path.join(base, "remote")   # cairn directory remote
    rrepo = os.path.join(base, "restic")
    csv = os.path.join(repo, "table.csv")
    for d in (base, lfs, rs, remote):
        os.makedirs(d, exist_ok=True)
    cairn_repo(ctx, repo)
    ctx.run([ctx.cairn, "remote", "add", "origin", remote, "-d"], cwd=repo)

    t0 = time.perf_counter()
    gen = CsvGen(cfg["seed"], cfg["csv_mb"] * MIB)
    size1 = gen.write(csv, 1)
    gen_s = time.perf_counter() - t0
    log(f"[edit] generated v1: {size1 / MIB:.0f} MiB, {gen.rows_v1:,} rows in {gen_s:.1f} s")
    res = {"rows_v1": gen.rows_v1, "rows_v2": gen.rows_v2, "region": list(gen.region), "fixes": gen.fixes,
           "describe": gen.describe(), "size_v1": size1, "generate_v1_s": gen_s}
    t = {}   # (operation, tool) -> seconds
    st = {}  # (version, tool) -> bytes stored / added

    # ---- version 1 ----
    t["up1", "cp"], _ = ctx.run(["cp", "--", csv, lfs + "/"], base, label="edit v1: cp")
    t["up1", "rsync"], _ = ctx.run(["rsync", "-a", "--", csv, rs + "/"], base, label="edit v1: rsync -a")

    t["add1", "cairn"], _ = ctx.run([ctx.cairn, "add", "table.csv"], repo, label="edit v1: cairn add")
    t["up1", "cairn"], push1 = ctx.cairn_json(["push"], repo, "edit v1: cairn push (directory remote)")
    st[1, "cairn"] = tree_size(remote)[0]
    idx1 = packs_in(remote)

    ctx.run(["restic", "init", "-r", rrepo], base)
    t["up1", "restic"], out = ctx.run(["restic", "-r", rrepo, "backup", "--json", "table.csv"], repo,
                                      label="edit v1: restic backup")
    rsum1 = restic_summary(out)
    st[1, "restic"] = tree_size(rrepo)[0]

    git_init(ctx, lfs)
    git_init(ctx, lfs_bare, bare=True)
    ctx.run(["git", "lfs", "install", "--local"], lfs)
    ctx.run(["git", "lfs", "track", "table.csv"], lfs)
    ctx.run(["git", "remote", "add", "origin", "file://" + lfs_bare], lfs)
    ctx.run(["git", "add", ".gitattributes"], lfs)
    t["add1", "git-lfs"], _ = ctx.run(["git", "add", "table.csv"], lfs, label="edit v1: git add (lfs clean)")
    ctx.run(["git", "commit", "-q", "-m", "v1"], lfs)
    t["up1", "git-lfs"], _ = ctx.run(["git", "push", "-q", "origin", "main"], lfs, label="edit v1: git push (lfs)")
    lfs_objects = os.path.join(lfs_bare, "lfs", "objects")
    st[1, "git-lfs"] = tree_size(lfs_objects)[0]
    # git-lfs's file:// transfer hard-links objects when both sides are on one file system.
    res["lfs_push_hardlinks"] = shares_inodes(lfs_objects, os.path.join(lfs, ".git", "lfs", "objects"))

    # ---- version 2 ----
    t0 = time.perf_counter()
    size2 = gen.write(csv, 2)
    res["size_v2"] = size2
    res["generate_v2_s"] = time.perf_counter() - t0
    log(f"[edit] generated v2: {size2 / MIB:.0f} MiB, {gen.rows_v2:,} rows in {res['generate_v2_s']:.1f} s")
    t["up2", "cp"], _ = ctx.run(["cp", "--", csv, lfs + "/"], base, label="edit v2: cp (over v1)")
    t["up2", "rsync"], _ = ctx.run(["rsync", "-a", "--", csv, rs + "/"], base, label="edit v2: rsync -a (over v1)")
    rm(rs)

    t["add2", "cairn"], _ = ctx.run([ctx.cairn, "add", "table.csv"], repo, label="edit v2: cairn add")
    t["up2", "cairn"], push2 = ctx.cairn_json(["push"], repo, "edit v2: cairn push")
    st[2, "cairn"] = tree_size(remote)[0]
    raw1, raw2 = raw_bytes_of(remote, idx1), raw_bytes_of(remote, packs_in(remote) - idx1)
    t["up2", "restic"], out = ctx.run(["restic", "-r", rrepo, "backup", "--json", "table.csv"], repo,
                                      label="edit v2: restic backup")
    rsum2 = restic_summary(out)
    st[2, "restic"] = tree_size(rrepo)[0]
    t["add2", "git-lfs"], _ = ctx.run(["git", "add", "table.csv"], lfs, label="edit v2: git add (lfs clean)")
    ctx.run(["git", "commit", "-q", "-m", "v2"], lfs)
    t["up2", "git-lfs"], _ = ctx.run(["git", "push", "-q", "origin", "main"], lfs, label="edit v2: git push (lfs)")
    st[2, "git-lfs"] = tree_size(lfs_objects)[0]
    rm(lfs)

    # ---- download version 2 into an empty place ----
    git_commit_all(ctx, repo, "v2")
    t["down", "cairn"], pull, res["pull_split"] = pull_fresh(ctx, repo, base, "edit v2", csv, "table.csv")
    dl = os.path.join(base, "download")
    os.makedirs(dl)
    t["down", "cp"], _ = ctx.run(["cp", "--", csv, dl + "/"], base, label="edit v2: cp (to an empty dir)")
    rm(dl)
    os.makedirs(dl)
    t["down", "rsync"], _ = ctx.run(["rsync", "-a", "--", csv, dl + "/"], base, label="edit v2: rsync -a (empty dir)")
    rm(dl)
    t["down", "restic"], _ = ctx.run(["restic", "-r", rrepo, "restore", "latest", "--target", dl], base,
                                     label="edit v2: restic restore")
    verify(ctx, csv, restored_path(dl, repo, "table.csv"), "restic restore")
    rm(dl)
    lenv = dict(ctx.env, GIT_LFS_SKIP_SMUDGE="1")
    lcl = os.path.join(base, "lfs-clone")
    clone(ctx, "file://" + lfs_bare, lcl, env=lenv)
    ctx.run(["git", "lfs", "install", "--local"], lcl)
    t["down", "git-lfs"], _ = ctx.run(["git", "lfs", "pull"], lcl, label="edit v2: git lfs pull (fresh clone)")
    verify(ctx, csv, os.path.join(lcl, "table.csv"), "git lfs pull")
    res["lfs_pull_hardlinks"] = shares_inodes(lfs_objects, os.path.join(lcl, ".git", "lfs", "objects"))
    rm(lcl)

    # ---- what version 2 added ----
    added = {tool: st[2, tool] - st[1, tool] for tool in ("cairn", "restic", "git-lfs")}
    res["stored"] = {
        "cairn": {"v1": st[1, "cairn"], "v2_added": added["cairn"], "v1_moved": push1.get("bytes_moved"),
                  "v2_moved": push2.get("bytes_moved"), "v1_raw": raw1, "v2_raw": raw2},
        "restic": {"v1": st[1, "restic"], "v2_added": added["restic"], "v1_data_added": rsum1.get("data_added"),
                   "v2_data_added": rsum2.get("data_added")},
        "git-lfs": {"v1": st[1, "git-lfs"], "v2_added": added["git-lfs"]},
        "dvc": {"v1": size1, "v2_added": size2},
    }
    res["pct_v2_added"] = {tool: 100 * v["v2_added"] / size2 for tool, v in res["stored"].items()}
    res["pct_v2_added"]["cairn_moved"] = 100 * (push2.get("bytes_moved") or 0) / size2
    res["times"] = {f"{op}/{tool}": v for (op, tool), v in t.items()}
    res["cairn_reports"] = {"push_v1": push1, "push_v2": push2, "pull": pull}
    rm(base)
    return res


# ---------------------------------------------------------------------------
# Part 2: many small files (directory remote, then S3 on moto)
# ---------------------------------------------------------------------------

def bench_small(ctx):
    cfg = ctx.cfg
    n = cfg["small_files"]
    base = os.path.join(ctx.workdir, "small")
    repo = os.path.join(base, "repo")
    data = os.path.join(repo, "data")
    remote = os.path.join(base, "remote")
    rrepo = os.path.join(base, "restic")
    os.makedirs(remote)
    cairn_repo(ctx, repo)
    ctx.run([ctx.cairn, "remote", "add", "origin", remote, "-d"], cwd=repo)

    t0 = time.perf_counter()
    total = gen_text_files(data, n, cfg["seed"], 1 * KIB, 16 * KIB)
    res = {"files": n, "bytes": total, "generate_s": time.perf_counter() - t0}
    log(f"[small] generated {n:,} files, {total / MIB:.0f} MiB in {res['generate_s']:.1f} s")
    t = {}

    # ---- cp -r and rsync -a: there (upload), and from there into an empty place (download) ----
    c1, c2 = os.path.join(base, "cp1"), os.path.join(base, "cp2")
    t["up", "cp"], _ = ctx.run(["cp", "-r", "--", data, c1], base, label="small: cp -r")
    t["down", "cp"], _ = ctx.run(["cp", "-r", "--", c1, c2], base, label="small: cp -r (from the copy)")
    rm(c1)
    rm(c2)
    t["up", "rsync"], _ = ctx.run(["rsync", "-a", "--", data + "/", c1 + "/"], base, label="small: rsync -a")
    t["down", "rsync"], _ = ctx.run(["rsync", "-a", "--", c1 + "/", c2 + "/"], base,
                                    label="small: rsync -a (from the copy)")
    rm(c1)
    rm(c2)

    # ---- cairn, directory remote ----
    t["add", "cairn"], _ = ctx.run([ctx.cairn, "add", "data"], repo, label="small: cairn add")
    t["up", "cairn"], push = ctx.cairn_json(["push"], repo, "small: cairn push (directory remote)")
    res["remote_bytes"], res["remote_files"] = tree_size(remote)
    git_commit_all(ctx, repo, "data")
    t["down", "cairn"], pull, res["pull_split"] = pull_fresh(ctx, repo, base, "small", data, "data")

    # ---- restic ----
    ctx.run(["restic", "init", "-r", rrepo], base)
    t["up", "restic"], out = ctx.run(["restic", "-r", rrepo, "backup", "--json", "data"], repo,
                                     label="small: restic backup")
    res["restic_summary"] = restic_summary(out)
    res["restic_bytes"], res["restic_files"] = tree_size(rrepo)
    dl = os.path.join(base, "restore")
    t["down", "restic"], _ = ctx.run(["restic", "-r", rrepo, "restore", "latest", "--target", dl], base,
                                     label="small: restic restore")
    verify(ctx, data, restored_path(dl, repo, "data"), "restic restore")
    rm(dl)
    rm(rrepo)
    res["times"] = {f"{op}/{tool}": v for (op, tool), v in t.items()}
    res["cairn_reports"] = {"push": push, "pull": pull}

    # ---- S3 on a loopback moto server ----
    if not cfg["s3"]:
        res["s3_skipped"] = "BENCH_REMOTE_S3=0"
    else:
        why = s3_available()
        if why:
            res["s3_skipped"] = f"boto3/moto not importable by {sys.executable} ({why})"
        else:
            res["s3"] = bench_small_s3(ctx, repo, base, data, n)
    rm(base)
    return res


def bench_small_s3(ctx, repo, base, data, n):
    moto = MotoServer(ctx).start()
    try:
        log(f"[small] moto server at {moto.url}")
        s3 = moto.client()
        s3.create_bucket(Bucket=S3_BUCKET)
        url = f"s3://{S3_BUCKET}/{S3_PREFIX}"
        ctx.run([ctx.cairn, "remote", "add", "s3", url, "--endpoint-url", moto.url], cwd=repo)
        push_s, push = ctx.cairn_json(["push", "-r", "s3"], repo, "small: cairn push -r s3 (moto)")
        objs = s3_objects(s3, S3_BUCKET, S3_PREFIX + "/")
        kinds = {}
        for key, _ in objs:
            rel = key[len(S3_PREFIX) + 1:]
            k = rel.split("/", 1)[0] if "/" in rel else rel
            if k == "packs":
                k = "packs/*" + os.path.splitext(rel)[1]
            kinds[k] = kinds.get(k, 0) + 1
        git_commit_all(ctx, repo, "s3 remote")
        cl = os.path.join(base, "clone-s3")
        clone(ctx, repo, cl)
        fetch_s, fetch = ctx.cairn_json(["fetch", "-r", "s3"], cl, "small: cairn fetch -r s3 (fresh clone)")
        ctx.run([ctx.cairn, "checkout"], cl)
        verify(ctx, data, os.path.join(cl, "data"), "cairn fetch -r s3 + checkout")
        rm(cl)
        return {"push_s": push_s, "push": push, "objects": len(objs), "object_bytes": sum(s for _, s in objs),
                "object_kinds": kinds, "fetch_s": fetch_s, "fetch": fetch,
                "requests_per_file": push.get("requests", 0) / n,
                "fetch_requests_per_file": fetch.get("requests", 0) / n}
    finally:
        moto.stop()


# ---------------------------------------------------------------------------
# Section: run, goals, report
# ---------------------------------------------------------------------------

def run_section(workdir, cairn, env, cfg):
    """Runs the configured parts in workdir (created, removed at the end unless
    BENCH_KEEP) with the isolated env; returns the section dict."""
    os.makedirs(workdir, exist_ok=True)
    env = dict(env)
    env.update({"RESTIC_PASSWORD": "cairn-bench", "RESTIC_PROGRESS_FPS": "0.1",
                "AWS_ACCESS_KEY_ID": "cairnbench", "AWS_SECRET_ACCESS_KEY": "cairnbench-secret",
                "AWS_REGION": "us-east-1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE", "RESTIC_REPOSITORY",
              "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "http_proxy", "https_proxy", "HTTP_PROXY",
              "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    ctx = benchlib.Ctx(workdir, cairn, env, cfg)
    section = benchlib.section_start(ctx, FULL)
    section["versions"] = {"restic": first_line(["restic", "version"]), "rsync": first_line(["rsync", "--version"]),
                           "git-lfs": first_line(["git", "lfs", "version"])}
    try:
        benchlib.run_parts(ctx, section, "remote", [
            ("edit", f"edit: a {cfg['csv_mb']} MiB CSV, two versions", bench_edit),
            ("small", f"small: {cfg['small_files']:,} files", bench_small)])
    finally:
        if not cfg["keep"]:
            for d in ("edit", "small"):
                rm(os.path.join(workdir, d))
    section["goals"] = evaluate_goals(section)
    return benchlib.section_end(ctx, section)


def evaluate_goals(section):
    goals = []
    ed = section.get("edit")
    v = ed["pct_v2_added"]["cairn"] if ed else None
    goals.append((7, v, None if v is None else v <= GOAL_EDIT_PCT,
                  "-" if v is None else f"{v:.2f}% ({ed['stored']['cairn']['v2_added'] / MIB:.1f} MiB of "
                                        f"{ed['size_v2'] / MIB:.0f} MiB)", f"<= {GOAL_EDIT_PCT:.0f}%"))
    s3 = (section.get("small") or {}).get("s3")
    v = s3["requests_per_file"] if s3 else None
    goals.append((8, v, None if v is None else v <= GOAL_REQUESTS_PER_FILE,
                  "-" if v is None else f"1/{1 / v:.0f} ({s3['push'].get('requests')} requests for "
                                        f"{section['small']['files']:,} files)" if v else "0 requests",
                  f"<= 1/{round(1 / GOAL_REQUESTS_PER_FILE)}"))
    return benchlib.goal_records("remote", goals, GOALS_DOC)


def report_lines(section):
    """The human-readable report as a list of lines."""
    L = []
    L.append("cairn remote benchmark" + ("" if section["full_sizes"] else " (smaller than the full sizes "
                                         f"{FULL['csv_mb']} MiB / {FULL['small_files']:,} files)")
             + ".  All timings are WARM-CACHE wall-clock seconds, one run each.")
    ed = section.get("edit")
    if ed:
        s1, s2 = ed["size_v1"], ed["size_v2"]
        L.append("")
        L.append(f"edit: CSV of {s1 / MIB:,.0f} MiB ({ed['describe']}); v2 is {s2 / MIB:,.0f} MiB")
        L.append("")
        L.append("Storage: bytes in the remote/repository after v1, and what pushing v2 added "
                 "(apparent file sizes, compressed where the tool compresses)")
        st = ed["stored"]
        rows = [
            ("cairn (directory remote)", st["cairn"]["v1"], st["cairn"]["v2_added"]),
            ("  cairn bytes_moved (--json)", st["cairn"]["v1_moved"], st["cairn"]["v2_moved"]),
            ("  cairn chunks before compression", st["cairn"]["v1_raw"], st["cairn"]["v2_raw"]),
            ("restic (repository dir)", st["restic"]["v1"], st["restic"]["v2_added"]),
            ("git-lfs (bare repo lfs/objects)", st["git-lfs"]["v1"], st["git-lfs"]["v2_added"]),
            ("DVC (whole files, by construction)", st["dvc"]["v1"], st["dvc"]["v2_added"]),
        ]
        cairn_added = st["cairn"]["v2_added"]
        body = [[name, fmt_mib(v1), fmt_pct(v1, s1, 1), fmt_mib(a2), fmt_pct(a2, s2), fmt_r(a2, cairn_added)]
                for name, v1, a2 in rows]
        L += rows_text(["tool", "v1 MiB", "v1 % of file", "v2 added MiB", "v2 added % of file",
                        "v2 added / cairn's"], body)
        rd1, rd2 = st["restic"].get("v1_data_added"), st["restic"].get("v2_data_added")
        if rd2 is not None:
            L.append(f"  note: restic's own summary: data_added (before compression) v1 {fmt_mib(rd1)} MiB, "
                     f"v2 {fmt_mib(rd2)} MiB ({100 * rd2 / s2:.2f}% of the file)")
        p1, p2 = ed["cairn_reports"]["push_v1"], ed["cairn_reports"]["push_v2"]
        L.append("  note: 'chunks before compression' = raw length of the chunks in the packs each push added "
                 "(from packs/*.idx); the goal is on the bytes stored (first row).")
        L.append(f"  note: cairn push v1: {p1.get('chunks')} chunks, {p1.get('chunks_moved')} moved, "
                 f"{p1.get('packs')} pack(s), {p1.get('requests')} requests; push v2: {p2.get('chunks')} chunks, "
                 f"{p2.get('chunks_moved')} moved ({100 * (p2.get('chunks_moved') or 0) / max(1, p2.get('chunks') or 1):.2f}%), "
                 f"{p2.get('packs')} pack(s), {p2.get('requests')} requests")
        L.append("")
        L.append("Time (s): upload = cairn push | cp | rsync -a | restic backup | git push (git-lfs to a bare repo "
                 "via file://); download v2 = into an empty place (cairn pull / git lfs pull in a fresh clone)")
        tm = dict(ed["times"])
        tools = ("cairn", "cp", "rsync", "restic", "git-lfs")
        body = []
        linked = {"up1": ed.get("lfs_push_hardlinks"), "up2": ed.get("lfs_push_hardlinks")}
        for op, name in (("up1", "upload v1"), ("up2", "upload v2"), ("down", "download v2")):
            c = tm.get(f"{op}/cairn")
            cells = [fmt_s(tm.get(f"{op}/{tool}")) for tool in tools]
            ratios = [fmt_r(c, tm.get(f"{op}/{tool}")) for tool in tools[1:]]
            if linked.get(op):
                cells[-1] += " (link)"
                ratios[-1] = "-"
            body.append([name] + cells + ratios)
        L += rows_text(["operation", "cairn", "cp", "rsync -a", "restic", "git-lfs", "cairn/cp", "cairn/rsync",
                        "cairn/restic", "cairn/git-lfs"], body)
        L.append(f"  note: not in the upload times: cairn add v1 {fmt_s(tm.get('add1/cairn'))} s, v2 "
                 f"{fmt_s(tm.get('add2/cairn'))} s (hash + copy into the cache); git add (lfs clean) v1 "
                 f"{fmt_s(tm.get('add1/git-lfs'))} s, v2 {fmt_s(tm.get('add2/git-lfs'))} s.  cairn add + push: "
                 f"v1 {fmt_s((tm.get('add1/cairn') or 0) + (tm.get('up1/cairn') or 0))} s, "
                 f"v2 {fmt_s((tm.get('add2/cairn') or 0) + (tm.get('up2/cairn') or 0))} s.")
        if ed.get("lfs_push_hardlinks"):
            L.append("  note: (link) git-lfs's file:// transfer hard-linked the objects into the bare repository (one "
                     "file system), so its push copies no data and is not a transfer time; git-lfs copies the data in "
                     "`git add` (above).")
        if ed.get("lfs_pull_hardlinks"):
            L.append("  note: git lfs pull hard-linked the objects from the bare repository too; its time is the "
                     "checkout (smudge: copy + hash) into the workspace.")
        ps = ed.get("pull_split")
        if ps:
            L.append(f"  note: cairn pull split (a second fresh clone): fetch {fmt_s(ps['fetch'])} s "
                     f"({ps['fetch_report'].get('requests')} requests, {fmt_mib(ps['fetch_report'].get('bytes_moved'))} "
                     f"MiB read), checkout {fmt_s(ps['checkout'])} s.")
        L.append("  note: cp and rsync -a of v2 write over the v1 copy (local rsync copies whole files); "
                 f"generation took {ed['generate_v1_s']:.1f} s (v1) and {ed['generate_v2_s']:.1f} s (v2).")
    sm = section.get("small")
    if sm:
        L.append("")
        L.append(f"small: {sm['files']:,} files of 1-16 KiB ({sm['bytes'] / MIB:,.0f} MiB, random text), one dataset")
        L.append("")
        tm = sm["times"]
        tools = ("cairn", "cp", "rsync", "restic")
        body = []
        for op, name in (("up", "upload"), ("down", "download")):
            c = tm.get(f"{op}/cairn")
            body.append([name] + [fmt_s(tm.get(f"{op}/{tool}")) for tool in tools]
                        + [fmt_r(c, tm.get(f"{op}/{tool}")) for tool in tools[1:]])
        L.append("Time (s): upload = cairn push (directory remote) | cp -r | rsync -a | restic backup; download = "
                 "cairn pull in a fresh clone | cp -r / rsync -a of the copy | restic restore")
        L += rows_text(["operation", "cairn", "cp -r", "rsync -a", "restic", "cairn/cp", "cairn/rsync",
                        "cairn/restic"], body)
        p, pl = sm["cairn_reports"]["push"], sm["cairn_reports"]["pull"]
        L.append(f"  note: cairn add {fmt_s(tm.get('add/cairn'))} s (not in upload); push: {p.get('chunks')} chunks, "
                 f"{p.get('packs')} pack(s), {p.get('requests')} requests, {fmt_mib(p.get('bytes_moved'))} MiB; "
                 f"directory remote {fmt_mib(sm['remote_bytes'])} MiB in {sm['remote_files']} files; "
                 f"pull: {pl.get('requests')} requests.")
        ps = sm.get("pull_split")
        if ps:
            L.append(f"  note: cairn pull split (a second fresh clone): fetch {fmt_s(ps['fetch'])} s "
                     f"({ps['fetch_report'].get('requests')} requests), checkout {fmt_s(ps['checkout'])} s.")
        L.append(f"  note: restic repository {fmt_mib(sm['restic_bytes'])} MiB in {sm['restic_files']} files.")
        s3 = sm.get("s3")
        if s3:
            L.append("")
            L.append("S3 (moto on 127.0.0.1; moto is slow, the times are not S3's):")
            body = [
                ["cairn push -r s3", fmt_s(s3["push_s"]), str(s3["push"].get("requests")),
                 f"1/{sm['files'] / max(1, s3['push'].get('requests') or 1):,.0f}",
                 fmt_mib(s3["push"].get("bytes_moved"))],
                ["cairn fetch -r s3 (fresh clone)", fmt_s(s3["fetch_s"]), str(s3["fetch"].get("requests")),
                 f"1/{sm['files'] / max(1, s3['fetch'].get('requests') or 1):,.0f}",
                 fmt_mib(s3["fetch"].get("bytes_moved"))],
            ]
            L += rows_text(["command", "seconds", "requests", "requests/file", "MiB moved"], body)
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(s3["object_kinds"].items()))
            L.append(f"  objects in the bucket (boto3 list_objects_v2): {s3['objects']} ({kinds}), "
                     f"{fmt_mib(s3['object_bytes'])} MiB; objects/file 1/{sm['files'] / max(1, s3['objects']):,.0f}")
        elif sm.get("s3_skipped"):
            L.append(f"  note: S3 step skipped: {sm['s3_skipped']}")
    return L + benchlib.report_end(section, f"{FULL['csv_mb']} MiB / {FULL['small_files']:,} files")


USAGE = __doc__ + """
Options:
  --quick                  128 MiB CSV and 5 000 small files (same as BENCH_QUICK=1)
  --only PARTS             comma-separated subset of edit,small
Environment:
  BENCH_QUICK=1            as --quick
  BENCH_REMOTE_PARTS       as --only (default edit,small)
  BENCH_CSV_MB=N           size of the CSV in MiB (1024; quick 128)
  BENCH_SMALL_FILES=N      number of small files (100000; quick 5000)
  BENCH_REMOTE_S3=0        skip the S3 (moto) step of the small-files part
  BENCH_SEED=N             seed of the generated data (fixed default)
  BENCH_VERIFY=0           skip comparing downloads with the original (untimed)
  BENCH_KEEP=1             keep the work directory
  CAIRN_BIN=PATH           cairn binary (default: build/cairn)
  TMPDIR=DIR               where the work directory is created (default /tmp)"""


def main(argv):
    return benchlib.standalone("remote", USAGE, make_config, run_section, report_lines, argv, parts_all=PARTS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
