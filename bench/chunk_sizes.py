#!/usr/bin/env python3
"""cairn chunk-size benchmark: what the average chunk size buys in dedup and costs in index.

For each average chunk size (16, 32, 64, 128, 256 KiB; CAIRN_CHUNK_AVG, which
sets min = avg/4 and max = 4*avg when a remote is created) and each of two
data types, a fresh directory remote gets version 1 and then version 2:
  csv    the edit scenario of bench/remote.py on a smaller CSV (BENCH_CHUNKS_CSV_MB,
         256 MiB): 1% of the rows rewritten in one region, 20 scattered one-field
         fixes, 1% of rows appended
  files  2 000 text files of 4-128 KiB (BENCH_CHUNKS_FILES); in version 2, 5% of
         them get one 100-byte edit in place
Reported per size: bytes version 2 added to the remote (% of its size), chunks
stored, total index size (sum of packs/*.idx), and push times.  The default
(64 KiB) is marked; the summary compares every size with it.

Usage: bench/chunk_sizes.py [--quick]
Standard library only, plus git.  Also run by bench/run (make bench) as its
"chunk_sizes" section.  See bench/README.md.
"""

import os
import random
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import benchlib  # noqa: E402  bench/benchlib.py: what the benchmark sections share
from benchlib import KIB, MIB, BenchError, fmt_pct, fmt_r, log, rm, rows_text  # noqa: E402
import remote  # noqa: E402  bench/remote.py: the data generators, pack indexes, tree sizes

FULL = {"csv_mb": 256, "files": 2000}
QUICK = {"csv_mb": 64, "files": 500}
DEFAULT_AVG_KIB = 64
FILE_MIN, FILE_MAX = 4 * KIB, 128 * KIB
EDIT_BYTES = 100


def make_config(quick=None):
    quick, base = benchlib.sizes_for(quick, FULL, QUICK)
    avgs = benchlib.env_ints("BENCH_CHUNK_AVGS", [16, 32, 64, 128, 256], "KiB")
    for a in avgs:
        if a < 1 or a & (a - 1):
            sys.exit(f"bench: chunk size {a} KiB in BENCH_CHUNK_AVGS is not a power of two")
    cfg = {
        "quick": quick,
        "avgs_kib": sorted(set(avgs)),
        "csv_mb": benchlib.env_int("BENCH_CHUNKS_CSV_MB", base["csv_mb"]),
        "files": benchlib.env_int("BENCH_CHUNKS_FILES", base["files"]),
        "changed_pct": benchlib.env_int("BENCH_CHUNKS_CHANGED_PCT", 5),
        "seed": benchlib.env_int("BENCH_SEED", 20240601),
        "verify": False,
        "keep": benchlib.env_flag("BENCH_KEEP"),
    }
    if cfg["csv_mb"] < 1 or cfg["files"] < 20:
        sys.exit("bench: BENCH_CHUNKS_CSV_MB must be >= 1 and BENCH_CHUNKS_FILES >= 20")
    return cfg


def disk_need(cfg):
    files_bytes = cfg["files"] * (FILE_MIN + FILE_MAX) // 2
    # workspace + cache (v1 and v2 of both) + one remote pair at a time
    return 6 * (cfg["csv_mb"] * MIB + files_bytes) + 512 * MIB


def inode_need(cfg):
    return 4 * cfg["files"] + 10_000


def missing_prereqs(cfg):
    import shutil
    return [] if shutil.which("git") else ["git is not installed"]


def edit_files(root, n, seed, pct):
    """Version 2 of the files data set: pct% of the files get EDIT_BYTES new bytes in place."""
    rng = random.Random(f"{seed}:chunk-files-edit")
    k = max(1, n * pct // 100)
    for i in sorted(rng.sample(range(n), k)):
        path = remote.small_path(root, i, n)
        with open(path, "r+b") as f:
            size = os.fstat(f.fileno()).st_size
            off = rng.randrange(0, max(1, size - EDIT_BYTES))
            f.seek(off)
            f.write(rng.randbytes(min(EDIT_BYTES, size)).translate(remote.TEXT_TABLE))
    return k


def add_version(ctx, repo, path, label):
    """cairn add PATH --json; returns (seconds, version hex, bytes)."""
    wall, rep = ctx.cairn_json(["add", path], repo, label)
    r = rep[0] if isinstance(rep, list) else rep
    return wall, r["version"].split(":", 1)[-1], r["bytes"]


def marker_params(rdir):
    try:
        with open(os.path.join(rdir, "cairn-remote")) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for word in text.split():
        if "=" in word:
            k, v = word.split("=", 1)
            if k in ("min", "avg", "max"):
                out[k] = int(v)
    return out


def idx_bytes(rdir):
    d = os.path.join(rdir, "packs")
    if not os.path.isdir(d):
        return 0, 0
    idx = [os.path.getsize(os.path.join(d, n)) for n in os.listdir(d) if n.endswith(".idx")]
    return sum(idx), len(idx)


def run_section(workdir, cairn, env, cfg):
    os.makedirs(workdir, exist_ok=True)
    ctx = benchlib.Ctx(workdir, cairn, dict(env), cfg)
    section = benchlib.section_start(ctx, FULL, drop=("keep", "verify"), versions={})
    base = os.path.join(workdir, "chunks")
    try:
        section.update(measure(ctx, base, cfg))
    finally:
        if not cfg["keep"]:
            rm(base)
    return benchlib.section_end(ctx, section, goals=[])


def measure(ctx, base, cfg):
    repo = os.path.join(base, "repo")
    benchlib.cairn_repo(ctx, repo)

    # ---- the two versions of both data sets, added to the local cache ----
    t0 = time.perf_counter()
    gen = remote.CsvGen(cfg["seed"], cfg["csv_mb"] * MIB)
    gen.write(os.path.join(repo, "table.csv"), 1)
    files_bytes = remote.gen_text_files(os.path.join(repo, "files"), cfg["files"], cfg["seed"], FILE_MIN, FILE_MAX,
                                        tag="medium")
    log(f"[chunks] generated v1 (CSV {cfg['csv_mb']} MiB, {cfg['files']} files {files_bytes / MIB:.0f} MiB) "
        f"in {time.perf_counter() - t0:.1f} s")
    v = {}
    _, v["csv", 1], size_csv1 = add_version(ctx, repo, "table.csv", "")
    _, v["files", 1], size_files1 = add_version(ctx, repo, "files", "")
    gen.write(os.path.join(repo, "table.csv"), 2)
    changed = edit_files(os.path.join(repo, "files"), cfg["files"], cfg["seed"], cfg["changed_pct"])
    _, v["csv", 2], size_csv2 = add_version(ctx, repo, "table.csv", "")
    _, v["files", 2], size_files2 = add_version(ctx, repo, "files", "")
    datasets = {
        "csv": {"name": "table.csv", "size_v1": size_csv1, "size_v2": size_csv2, "describe": gen.describe()},
        "files": {"name": "files", "size_v1": size_files1, "size_v2": size_files2,
                  "describe": f"{cfg['files']} text files of 4-128 KiB; v2: {changed} files "
                              f"({cfg['changed_pct']}%) with one {EDIT_BYTES}-byte edit in place"},
    }

    rows = []
    for avg in cfg["avgs_kib"]:
        env = dict(ctx.env, CAIRN_CHUNK_AVG=str(avg * KIB))
        for ds, d in datasets.items():
            rdir = os.path.join(base, "remotes", f"{ds}-{avg}k")
            os.makedirs(rdir)
            rname = f"{ds}-{avg}k"
            ctx.run([ctx.cairn, "remote", "add", rname, rdir], repo)
            t1, p1 = ctx.cairn_json(["push", "-r", rname, f"{d['name']}@{v[ds, 1]}"], repo,
                                    f"{ds} avg {avg} KiB: push v1", env=env)
            s1 = remote.tree_size(rdir)[0]
            idx1 = remote.packs_in(rdir)
            t2, p2 = ctx.cairn_json(["push", "-r", rname, f"{d['name']}@{v[ds, 2]}"], repo,
                                    f"{ds} avg {avg} KiB: push v2", env=env)
            s2 = remote.tree_size(rdir)[0]
            raw2 = remote.raw_bytes_of(rdir, remote.packs_in(rdir) - idx1)
            ib, ni = idx_bytes(rdir)
            params = marker_params(rdir)
            if not params or params.get("avg") != avg * KIB:
                raise BenchError(f"remote {rdir}: marker says {params}, expected avg={avg * KIB} "
                                 "(CAIRN_CHUNK_AVG not applied?)")
            chunks = (p1.get("chunks_moved") or 0) + (p2.get("chunks_moved") or 0)
            rows.append({"dataset": ds, "avg_kib": avg, "params": params,
                         "push_v1_s": t1, "push_v2_s": t2, "stored_v1": s1, "added_v2": s2 - s1,
                         "pct_stored_v1": 100 * s1 / d["size_v1"], "pct_added_v2": 100 * (s2 - s1) / d["size_v2"],
                         "raw_added_v2": raw2, "pct_raw_added_v2": None if raw2 is None else 100 * raw2 / d["size_v2"],
                         "chunks_v1": p1.get("chunks"), "chunks_v2": p2.get("chunks"),
                         "chunks_moved_v2": p2.get("chunks_moved"), "chunks_stored": chunks,
                         "mean_chunk_kib": d["size_v1"] / max(1, p1.get("chunks") or 1) / KIB,
                         "idx_bytes": ib, "idx_files": ni, "idx_bytes_per_chunk": ib / max(1, chunks),
                         "requests": [p1.get("requests"), p2.get("requests")],
                         "push_v1": p1, "push_v2": p2})
            rm(rdir)
            ctx.run([ctx.cairn, "remote", "remove", rname], repo)
    return {"datasets": datasets, "rows": rows}


def report_lines(section):
    L = []
    L.append("cairn chunk-size benchmark" + ("" if section["full_sizes"] else
                                             f" (smaller than the defaults {FULL['csv_mb']} MiB / {FULL['files']} files)")
             + ": a fresh directory remote per size and data type; push v1, then v2.")
    L.append("min = avg/4, max = 4*avg (CAIRN_CHUNK_AVG).  Sizes are apparent bytes in the remote (zstd-compressed "
             "chunks); % of the version's size.  * = the default.")
    rows = section["rows"]
    for ds, d in section["datasets"].items():
        L.append("")
        L.append(f"{ds}: {d['describe']}; v1 {d['size_v1'] / MIB:,.1f} MiB, v2 {d['size_v2'] / MIB:,.1f} MiB")
        body = []
        mine = [r for r in rows if r["dataset"] == ds]
        ref = next((r for r in mine if r["avg_kib"] == DEFAULT_AVG_KIB), None)
        for r in mine:
            body.append([f"{r['avg_kib']}{'*' if r['avg_kib'] == DEFAULT_AVG_KIB else ''}",
                         f"{r['mean_chunk_kib']:.1f}", f"{r['chunks_stored']:,}", f"{r['pct_stored_v1']:.1f}%",
                         f"{r['added_v2'] / MIB:,.2f}", f"{r['pct_added_v2']:.2f}%",
                         fmt_pct(r["raw_added_v2"], d["size_v2"]),
                         fmt_r(r["added_v2"], ref["added_v2"]) if ref else "-",
                         f"{r['chunks_moved_v2']:,}", f"{r['idx_bytes'] / KIB:,.0f}",
                         fmt_r(r["idx_bytes"], ref["idx_bytes"]) if ref else "-",
                         f"{r['idx_bytes_per_chunk']:.0f}",
                         f"{r['idx_bytes'] / max(1, r['stored_v1'] + r['added_v2']) * 100:.2f}%",
                         f"{r['push_v1_s']:.2f}", f"{r['push_v2_s']:.2f}"])
        L += rows_text(["avg KiB", "mean KiB", "chunks", "v1 stored", "v2 added MiB", "v2 added", "v2 raw",
                        "vs 64K", "v2 chunks sent", "idx KiB", "idx vs 64K", "idx B/chunk",
                        "idx/stored", "push v1 s", "push v2 s"], body)
    L.append("")
    L.append("  v2 added = bytes the v2 push added to the remote (compressed); v2 raw = the same chunks before "
             "compression (from packs/*.idx).")
    L.append("  chunks = chunks stored after v1 + v2; mean KiB = v1 size / v1 chunks (before compression); "
             "idx/stored = index bytes / pack+index bytes in the remote.")
    L.append("  An index is loaded by every push/fetch (listing + reading every packs/*.idx): its size is the "
             "per-operation cost that grows with the number of chunks.")
    return L + benchlib.report_end(section)


USAGE = __doc__ + """
Options:
  --quick                  64 MiB CSV and 500 files (same as BENCH_QUICK=1)
Environment:
  BENCH_QUICK=1            as --quick
  BENCH_CHUNK_AVGS=a,b,... average chunk sizes in KiB, powers of two (16,32,64,128,256)
  BENCH_CHUNKS_CSV_MB=N    CSV size in MiB (256; quick 64)
  BENCH_CHUNKS_FILES=N     files in the second data set (2000; quick 500)
  BENCH_CHUNKS_CHANGED_PCT=N  % of those files edited in version 2 (5)
  BENCH_SEED=N             seed of the generated data (fixed default)
  BENCH_KEEP=1             keep the work directory
  CAIRN_BIN=PATH           cairn binary (default: build/cairn)
  TMPDIR=DIR               where the work directory is created (default /tmp)"""


def main(argv):
    return benchlib.standalone("chunk_sizes", USAGE, make_config, run_section, report_lines, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
