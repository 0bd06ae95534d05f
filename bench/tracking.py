#!/usr/bin/env python3
"""cairn experiment-tracking benchmark.

Three parts, each checked against a project goal:
  log     Python: cairn.log_metric("loss", i * 0.5, step=i) in a loop, then
          cairn.flush(); points per second from the first log to after the flush.
          Context: a plain list.append loop (the floor) and sqlite3 executemany
          of the same rows (a naive tracker); MLflow when it can be imported.
  search  cairn runs --where ... --sort ... --limit 10 over 10k / 100k / 1M runs
          (20 params, 10 metrics each) whose rows are generated straight into
          the index tables in .cairn/state.db; hyperfine --warmup 3, mean.
  run     cairn run -- true (start + end of a tracked run) against bare `true`
          and `git status` in a small repository; hyperfine --warmup 5 --runs 30.
  create  Python: runs with 20 params and 10 metrics created one after another
          (start_run(params=...), 10 log_metric, end of the with block) in a
          git repository with one tracked dataset, after a few thousand such
          runs exist; runs per second of the timed batch, and CPU ms per run
          (the process and its children: a busy machine stretches the wall
          time, less so the CPU time).

Usage: bench/tracking.py [--quick] [--only log,search,run,create]
Standard library only, plus hyperfine.  Also run by bench/run (make bench) as
its "tracking" section.  See bench/README.md.
"""

import collections
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import benchlib  # noqa: E402  bench/benchlib.py: what the benchmark sections share
from benchlib import MIB, ROOT, BenchError, cairn_repo, first_line, log, rm, rows_text  # noqa: E402

PARTS = ("log", "search", "run", "create")
FULL = {"points": 1_000_000, "sizes": [10_000, 100_000, 1_000_000], "create_pre": 3000, "create_runs": 1000}
QUICK = {"points": 200_000, "sizes": [10_000, 100_000], "create_pre": 1000, "create_runs": 300}

# Goal ids continue bench/run's (1-3 are the data goals).
GOAL_POINTS_PER_S = 200_000
GOAL_SEARCH_S = 0.050
GOAL_SEARCH_SIZE = 100_000
GOAL_RUN_OVERHEAD_S = 0.020
GOAL_CREATE_RUNS_PER_S = 300
GOALS_DOC = [
    (4, "Python log_metric loop + flush: >= 200 000 points/s to the local store"),
    (5, "cairn runs search (acc > 0.9, sort acc DESC, limit 10) at 100k runs: < 50 ms mean"),
    (6, "cairn run -- true start/end overhead (minus bare true): < 20 ms mean"),
    (7, "Python runs with 20 params + 10 metrics, created one after another after thousands exist: >= 300 runs/s"),
]

# The two query shapes timed through the CLI.
QUERY_A = ["runs", "--where", "metrics.acc > 0.9", "--sort", "metrics.acc DESC", "--limit", "10"]
QUERY_B = ["runs", "--where", "params.p3 = 'v1' and metrics.m2 < 0.5", "--limit", "10"]
QUERY_FIXED = ["runs", "--limit", "0"]  # process start + repo and index open, no rows

# The SQL cairn builds for QUERY_A / QUERY_B (rebuilt by hand from
# SqliteTrackingStore::Search in src/tracking/sqlite_search.cc and the filter compiler in
# src/tracking/filter.cc), for EXPLAIN QUERY PLAN and a Python-side timing.
# The results are compared with the CLI's, so a drift is noticed.
SQL_A = ("SELECT r.id FROM run_metrics s JOIN runs r ON r.id = s.run WHERE s.key = ? AND s.value IS NOT NULL AND "
         "r.deleted = 0 AND (EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id AND m.key = ? AND m.value > ?)) "
         "ORDER BY s.value DESC, r.start_time DESC, r.run_id LIMIT 10", ("acc", "acc", 0.9))
SQL_B = ("SELECT r.id FROM runs r WHERE r.deleted = 0 AND ((EXISTS (SELECT 1 FROM run_params p WHERE p.run = r.id "
         "AND p.key = ? AND p.value = ?) AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id AND m.key = ? "
         "AND m.value < ?))) ORDER BY r.start_time DESC, r.run_id LIMIT 10", ("p3", "v1", "m2", 0.5))

# Generated data: 20 params with 2..6 distinct values each, 9 metrics + acc.
N_PARAMS = 20
METRIC_KEYS = [f"m{j}" for j in range(9)] + ["acc"]
GEN_BATCH = 10_000      # runs per executemany batch
GEN_TXN = 50_000        # runs per transaction
GEN_T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z; start times grow from here
GEN_BYTES_PER_RUN = 2200  # measured: ~2.1 KB of state.db per generated run


def make_config(quick=None, parts=None):
    """The tracking configuration; environment variables override the defaults."""
    quick, base = benchlib.sizes_for(quick, FULL, QUICK)
    parts = benchlib.env_parts("BENCH_TRACKING_PARTS", PARTS, "tracking", parts)
    sizes = benchlib.env_ints("BENCH_TRACKING_SIZES", base["sizes"])
    cfg = {
        "quick": quick,
        "parts": parts,
        "points": benchlib.env_int("BENCH_TRACKING_POINTS", base["points"]),
        "log_runs": max(1, benchlib.env_int("BENCH_TRACKING_LOG_RUNS", 3)),
        "mlflow_points": benchlib.env_int("BENCH_TRACKING_MLFLOW_POINTS", 10_000),
        "sizes": sorted(set(sizes)),
        "seed": benchlib.env_int("BENCH_SEED", 20240601),
        "search_warmup": 3,
        "run_warmup": 5,
        "run_runs": 30,
        "create_pre": benchlib.env_int("BENCH_TRACKING_CREATE_PRE", base["create_pre"]),
        "create_runs": max(1, benchlib.env_int("BENCH_TRACKING_CREATE_RUNS", base["create_runs"])),
        "keep": benchlib.env_flag("BENCH_KEEP"),
    }
    if cfg["points"] < 1 or any(s < 10 for s in cfg["sizes"]):
        sys.exit("bench: BENCH_TRACKING_POINTS must be >= 1 and every search size >= 10")
    return cfg


def disk_need(cfg):
    """Bytes of scratch space the section needs at its peak (one size at a time)."""
    need = 256 * MIB
    if "search" in cfg["parts"] and cfg["sizes"]:
        need = max(need, int(max(cfg["sizes"]) * GEN_BYTES_PER_RUN * 1.5))
    if "log" in cfg["parts"]:
        need = max(need, cfg["points"] * 300)
    return need + 256 * MIB


def find_python_package():
    """Directory holding the built `cairn` Python package (CAIRN_PYTHONPATH or build/python)."""
    d = os.path.abspath(os.environ.get("CAIRN_PYTHONPATH") or os.path.join(ROOT, "build", "python"))
    return d if os.path.isfile(os.path.join(d, "cairn", "__init__.py")) else None


def missing_prereqs(cfg):
    """Problems that stop the section before it starts, as a list of messages."""
    out = []
    if ("search" in cfg["parts"] or "run" in cfg["parts"]) and not shutil.which("hyperfine"):
        out.append("hyperfine is not installed (run 'scripts/bootstrap --bench')")
    if ("search" in cfg["parts"] or "run" in cfg["parts"] or "create" in cfg["parts"]) and not shutil.which("git"):
        out.append("git is not installed")
    if ("log" in cfg["parts"] or "create" in cfg["parts"]) and not find_python_package():
        out.append("no built Python package (build/python/cairn; run 'make build' or set CAIRN_PYTHONPATH)")
    return out


# ---------------------------------------------------------------------------
# Running commands
# ---------------------------------------------------------------------------

class Ctx(benchlib.Ctx):
    """benchlib.Ctx with hyperfine."""

    def hyperfine(self, label, commands, cwd, warmup, runs=None):
        """Times [(name, argv)] with hyperfine -N (no shell); returns {name: stats}.
        An untimed sync first, so write-back of earlier steps (the generated
        index) does not land in the fsyncs of the measured commands."""
        os.sync()
        jpath = self.logpath("hyperfine") + ".json"
        argv = ["hyperfine", "-N", "--style", "basic", "--warmup", str(warmup), "--export-json", jpath]
        if runs:
            argv += ["--runs", str(runs)]
        for name, _ in commands:
            argv += ["-n", name]
        argv += [shlex.join(cmd) for _, cmd in commands]
        self.run(argv, cwd)
        with open(jpath) as f:
            data = json.load(f)
        out = {}
        for (name, cmd), r in zip(commands, data["results"]):
            stats = {"mean_s": r["mean"], "stddev_s": r.get("stddev"), "median_s": r["median"], "min_s": r["min"],
                     "max_s": r["max"], "user_s": r.get("user"), "sys_s": r.get("system"),
                     "runs": len(r.get("times") or [])}
            out[name] = stats
            self.records.append({"label": f"{label}: {name}", "cmd": show_cmd(cmd), "tool": "hyperfine",
                                 "warmup": warmup, **{k: (round(v, 6) if isinstance(v, float) else v)
                                                      for k, v in stats.items()}})
            log(f"  {label + ': ' + name:<52} {fmt_ms(stats['mean_s'])} ms ± {fmt_ms(stats['stddev_s'])} "
                f"({stats['runs']} runs)")
        return out


def show_cmd(argv):
    """argv as a shell command, preferring double quotes around single-quoted filter text."""
    out = []
    for a in argv:
        if "'" in a and not any(c in a for c in '"$`\\!'):
            out.append('"' + a + '"')
        else:
            out.append(shlex.quote(a))
    return " ".join(out)


# ---------------------------------------------------------------------------
# Part 1: log_metric throughput
# ---------------------------------------------------------------------------

# Run in a fresh interpreter per measurement; prints one JSON line.  Every
# mode verifies what it wrote and exits non-zero when anything is missing.
LOG_CHILD = r'''
import json, os, sys, time

def fail(msg):
    sys.stderr.write("logbench: " + msg + "\n")
    sys.exit(3)

def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    out = {"mode": mode, "points": n}
    if mode == "cairn":
        import cairn
        with cairn.start_run() as run:
            t0 = time.perf_counter()
            for i in range(n):
                cairn.log_metric("loss", i * 0.5, step=i)
            cairn.flush()
            t1 = time.perf_counter()
        t2 = time.perf_counter()  # end_run: seals the record and the metric history
        hist = cairn.get_metric_history(run.id, "loss")
        if len(hist) != n:
            fail("get_metric_history(%s, 'loss') has %d points, expected %d" % (run.id, len(hist), n))
        for k, p in enumerate(hist):
            if p[0] != k or p[1] != k * 0.5:
                fail("point %d is (step %r, value %r), expected (%d, %r)" % (k, p[0], p[1], k, k * 0.5))
        info = cairn.get_run(run.id)
        if info.status != "FINISHED" or info.metrics.get("loss") != (n - 1) * 0.5:
            fail("run %s: status %s, latest loss %r" % (run.id, info.status, info.metrics.get("loss")))
        out.update(seconds=t1 - t0, end_run_s=t2 - t1, run_id=run.id)
    elif mode == "floor":
        pts = []
        t0 = time.perf_counter()
        for i in range(n):
            pts.append(("loss", i * 0.5, i))
        t1 = time.perf_counter()
        if len(pts) != n:
            fail("list has %d points" % len(pts))
        out.update(seconds=t1 - t0)
    elif mode == "sqlite":
        import sqlite3
        db = sqlite3.connect(sys.argv[3])
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE points (run INTEGER NOT NULL, key TEXT NOT NULL, value REAL, "
                   "step INTEGER NOT NULL, ts INTEGER NOT NULL)")
        db.execute("CREATE INDEX points_by_run ON points(run, key)")
        t0 = time.perf_counter()
        rows = []
        for i in range(n):
            rows.append((1, "loss", i * 0.5, i, int(time.time() * 1000)))
        t1 = time.perf_counter()
        with db:
            db.executemany("INSERT INTO points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)", rows)
        t2 = time.perf_counter()
        got = db.execute("SELECT count(*), max(step) FROM points WHERE run = 1 AND key = 'loss'").fetchone()
        if got != (n, n - 1):
            fail("sqlite table has %r points" % (got,))
        out.update(seconds=t2 - t0, executemany_s=t2 - t1)
    elif mode == "mlflow":
        import mlflow
        from mlflow.tracking import MlflowClient
        with mlflow.start_run() as run:
            t0 = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("loss", i * 0.5, step=i)
            t1 = time.perf_counter()
        hist = MlflowClient().get_metric_history(run.info.run_id, "loss")
        if len(hist) != n:
            fail("mlflow history has %d points, expected %d" % (len(hist), n))
        out.update(seconds=t1 - t0, version=mlflow.__version__)
    else:
        fail("unknown mode " + mode)
    print(json.dumps(out))

main()
'''


CREATE_CHILD = r'''
import json, resource, sys, time
import cairn

def cpu_s():
    """CPU seconds of this process and its children (git processes count too)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

def fail(msg):
    sys.stderr.write("createbench: " + msg + "\n")
    sys.exit(3)

pre, n = int(sys.argv[1]), int(sys.argv[2])
params = {"p%d" % j: "v%d" % (j % 4) for j in range(20)}

def one(i):
    with cairn.start_run(params=params) as run:
        for j in range(10):
            cairn.log_metric("m%d" % j, i * 0.001 + j, step=1)
    return run.id

for i in range(pre):
    one(i)
c0 = cpu_s()
t0 = time.perf_counter()
lap = []
ids = []
for i in range(n):
    a = time.perf_counter()
    ids.append(one(pre + i))
    lap.append(time.perf_counter() - a)
t1 = time.perf_counter()
c1 = cpu_s()
for k in (0, n - 1):
    info = cairn.get_run(ids[k])
    if info.status != "FINISHED" or len(info.params) != 20 or len(info.metrics) != 10:
        fail("run %s: status %s, %d params, %d metrics" % (ids[k], info.status, len(info.params), len(info.metrics)))
    if info.metrics["m9"] != (pre + k) * 0.001 + 9:
        fail("run %s: m9 = %r" % (ids[k], info.metrics["m9"]))
lap.sort()
print(json.dumps({"runs": n, "pre": pre, "seconds": t1 - t0, "runs_per_s": n / (t1 - t0),
                  "median_ms": lap[n // 2] * 1000, "p90_ms": lap[int(n * 0.9)] * 1000,
                  "cpu_ms_per_run": (c1 - c0) / n * 1000, "last_id": ids[-1]}))
'''


def repo_with_dataset(ctx, name):
    """A cairn repository in workdir/name with examples/data/iris.csv tracked and committed: clean, as a
    sweep's work tree would be (the create and run parts start their runs there)."""
    repo = os.path.join(ctx.workdir, name)
    cairn_repo(ctx, repo)
    csv = os.path.join(ROOT, "examples", "data", "iris.csv")
    if not os.path.isfile(csv):
        raise BenchError(f"missing {csv}")
    shutil.copy(csv, os.path.join(repo, "iris.csv"))
    ctx.run([ctx.cairn, "add", "iris.csv"], cwd=repo)
    ctx.run(["git", "add", "-A"], cwd=repo)
    ctx.run(["git", "commit", "-q", "-m", "dataset"], cwd=repo)
    return repo


def bench_create(ctx):
    """Python run creation speed once thousands of runs exist (goal 7)."""
    cfg = ctx.cfg
    repo = repo_with_dataset(ctx, "create")
    # `python -c` in the repository: the code that runs is the repository's
    # (a script file outside it would record no git state, a file inside it
    # would make the tree dirty).
    out = ctx.output([sys.executable, "-c", CREATE_CHILD, str(cfg["create_pre"]), str(cfg["create_runs"])], cwd=repo)
    res = json.loads(out.strip().splitlines()[-1])
    # The speed must not come from recording less: the last run names the commit, clean.
    head = ctx.output(["git", "rev-parse", "HEAD"], cwd=repo).strip()
    env = json.loads(ctx.output([ctx.cairn, "runs", "show", res.pop("last_id"), "--json"], cwd=repo)).get("env", {})
    if env.get("git.commit") != head or env.get("git.dirty") != "false":
        raise BenchError(f"create: the last run recorded git.commit={env.get('git.commit')} "
                         f"git.dirty={env.get('git.dirty')}, expected {head} and false")
    if not cfg["keep"]:
        rm(repo)
    return res


def bench_log(ctx):
    cfg = ctx.cfg
    n = cfg["points"]
    base = os.path.join(ctx.workdir, "log")
    os.makedirs(base)
    child = os.path.join(base, "logbench.py")
    with open(child, "w") as f:
        f.write(LOG_CHILD)
    py = sys.executable

    def child_run(mode, points, cwd, extra=()):
        os.sync()  # untimed; earlier writes do not count against this run
        out = ctx.output([py, child, mode, str(points), *extra], cwd=cwd)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise BenchError(f"log benchmark ({mode}) printed no result: {out[-500:]!r}")

    runs = {"cairn": [], "floor": [], "sqlite": []}
    for rep in range(cfg["log_runs"]):
        # cairn: a fresh repository each time, so every run starts from the same index size.
        repo = os.path.join(base, f"repo{rep}")
        cairn_repo(ctx, repo)
        r = child_run("cairn", n, repo)
        # Independent check straight from the index: every point is in run_metric_points.
        db = sqlite3.connect(f"file:{os.path.join(repo, '.cairn', 'state.db')}?mode=ro", uri=True)
        try:
            got = db.execute("SELECT count(*), min(step), max(step) FROM run_metric_points p JOIN runs r "
                             "ON r.id = p.run WHERE r.run_id = ? AND p.key = 'loss'", (r["run_id"],)).fetchone()
            status = db.execute("SELECT status FROM runs WHERE run_id = ?", (r["run_id"],)).fetchone()
        finally:
            db.close()
        if got != (n, 0, n - 1) or status != ("FINISHED",):
            raise BenchError(f"log: run {r['run_id']} has {got} (count, min step, max step) points, "
                             f"status {status}; expected ({n}, 0, {n - 1}), FINISHED")
        runs["cairn"].append(r)
        rm(repo)
        runs["floor"].append(child_run("floor", n, base))
        dbpath = os.path.join(base, f"naive{rep}.db")
        runs["sqlite"].append(child_run("sqlite", n, base, (dbpath,)))
        for suffix in ("", "-wal", "-shm"):
            rm(dbpath + suffix)
        for mode in runs:
            x = runs[mode][-1]
            extra = f", end_run {x['end_run_s']:.3f} s" if "end_run_s" in x else ""
            extra += f", executemany {x['executemany_s']:.3f} s" if "executemany_s" in x else ""
            log(f"  log #{rep + 1} {mode:<7} {n} points  {x['seconds']:8.3f} s  "
                f"{n / x['seconds']:>12,.0f} points/s{extra}")
            ctx.records.append({"label": f"log #{rep + 1}: {mode}", "points": n,
                                **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in x.items()
                                   if k not in ("mode", "points")}})

    # MLflow, when this Python can import it (fewer points: it writes synchronously).
    mlflow, mlflow_skipped = None, None
    probe = subprocess.run([py, "-c", "import mlflow; print(mlflow.__version__)"], env=ctx.env,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode == 0:
        mn = min(n, cfg["mlflow_points"])
        mdir = os.path.join(base, "mlflow")
        os.makedirs(mdir)
        m = child_run("mlflow", mn, mdir)
        mlflow = {"points": mn, "seconds": m["seconds"], "points_per_s": mn / m["seconds"],
                  "version": m.get("version")}
        ctx.records.append({"label": "log: mlflow", "points": mn, "seconds": round(m["seconds"], 6)})
        log(f"  log mlflow {mn} points  {m['seconds']:8.3f} s  {mn / m['seconds']:>12,.0f} points/s")
    else:
        err = (probe.stderr.strip().splitlines() or ["?"])[-1]
        mlflow_skipped = f"not importable by {py} ({err})"

    def med(mode, key="seconds"):
        return statistics.median(x[key] for x in runs[mode])

    res = {"points": n, "repeats": cfg["log_runs"], "python": py, "mlflow": mlflow,
           "mlflow_skipped": mlflow_skipped, "rows": []}
    cairn_rate = n / med("cairn")
    for mode, what in (("cairn", "cairn.log_metric loop + flush"),
                       ("floor", "list.append loop (floor)"),
                       ("sqlite", "sqlite3 executemany (naive tracker)")):
        s = med(mode)
        res["rows"].append({"method": mode, "what": what, "seconds": s, "points_per_s": n / s,
                            "cairn_rate_over_this": cairn_rate / (n / s),
                            "runs_s": [x["seconds"] for x in runs[mode]]})
    if mlflow:
        res["rows"].append({"method": "mlflow", "what": f"mlflow.log_metric loop ({mlflow['points']} points)",
                            "seconds": mlflow["seconds"], "points_per_s": mlflow["points_per_s"],
                            "cairn_rate_over_this": cairn_rate / mlflow["points_per_s"], "runs_s": [mlflow["seconds"]]})
    res["cairn_points_per_s"] = cairn_rate
    res["cairn_end_run_s"] = med("cairn", "end_run_s")
    res["cairn_with_end_run_points_per_s"] = n / (med("cairn") + res["cairn_end_run_s"])
    res["sqlite_executemany_only_s"] = med("sqlite", "executemany_s")
    return res


# ---------------------------------------------------------------------------
# Part 2: search over a generated index
# ---------------------------------------------------------------------------

def gen_index(db_path, n, seed):
    """Inserts n finished runs straight into the tracking tables of db_path.

    Returns (stats, expected) where expected holds what the two queries must
    return, computed here from the generated values (not from the database)."""
    import heapq
    import random
    rng = random.Random(seed)
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")     # generation only; cairn opens it with its own settings
        db.execute("PRAGMA cache_size=-524288")  # 512 MiB
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in ("experiments", "runs", "run_params", "run_tags", "run_metrics", "run_metric_points")
                   if t not in tables]
        if missing:
            raise BenchError(f"{db_path}: 'cairn runs' did not create the tracking tables {missing}; the generator "
                             "in bench/tracking.py needs them (see src/tracking/schema.h)")
        have = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        if have:
            raise BenchError(f"{db_path}: runs table is not empty ({have} rows)")
        if db.execute("SELECT name FROM experiments WHERE id = 0").fetchone() != ("Default",):
            raise BenchError(f"{db_path}: experiment 0 'Default' is missing")
        # A realistic env column (the shape 'cairn run' records; ~400 bytes).
        env = json.dumps({"cairn.compiler": "gcc 12.2.0", "cairn.version": "0.1.0", "cpu.cores": "8",
                          "cpu.model": "AMD EPYC", "git.branch": "main", "git.commit": "0" * 40,
                          "git.dirty": "false", "gpu.count": "1", "host": "bench-host",
                          "memory.bytes": "68719476736", "os.distribution": "Debian GNU/Linux 12 (bookworm)",
                          "os.kernel": "6.1.0", "os.machine": "x86_64", "os.name": "Linux",
                          "python.version": "3.11.7"}, separators=(",", ":"))
        pkeys = [f"p{j}" for j in range(N_PARAMS)]
        pvals = [[f"v{k}" for k in range(2 + j % 5)] for j in range(N_PARAMS)]  # 2..6 values each
        teams = ["vision", "nlp", "speech"]
        sql_run = ("INSERT INTO runs (id, run_id, experiment_id, name, status, start_time, end_time, user, deleted, "
                   "exit_code, command, cwd, host, pid, pid_start, env, history, record) "
                   "VALUES (?, ?, 0, '', 'FINISHED', ?, ?, 'bench', 0, 0, ?, '.', 'bench-host', ?, ?, ?, ?, ?)")
        sql_param = "INSERT INTO run_params (run, key, value) VALUES (?, ?, ?)"
        sql_tag = "INSERT INTO run_tags (run, key, value) VALUES (?, ?, ?)"
        sql_metric = "INSERT INTO run_metrics (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)"
        sql_point = "INSERT INTO run_metric_points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)"
        rows = collections.Counter()
        cand_a = []                              # (acc, start, run_id, row) with acc > 0.9
        newest_b = collections.deque(maxlen=10)  # newest runs with p3 = 'v1' and m2 < 0.5
        match_b = 0
        start = GEN_T0_MS
        t0 = time.perf_counter()
        db.execute("BEGIN")
        for lo in range(0, n, GEN_BATCH):
            runs, params, tags, metrics = [], [], [], []
            for i in range(lo, min(n, lo + GEN_BATCH)):
                row = i + 1
                start += rng.randint(1_000, 120_000)  # strictly increasing: newest-first has no ties
                end = start + rng.randint(10_000, 3_600_000)
                run_id = f"{rng.getrandbits(128):032x}"
                runs.append((row, run_id, start, end, f"python3 train.py --trial {i}", 10_000 + i % 50_000,
                             1_000_000 + i, env, f"sha256:{rng.getrandbits(256):064x}",
                             f"sha256:{rng.getrandbits(256):064x}"))
                pv = [vals[rng.randrange(len(vals))] for vals in pvals]
                params.extend(zip([row] * N_PARAMS, pkeys, pv))
                tags.append((row, "team", teams[i % 3]))
                tags.append((row, "seed", str(i % 10)))
                mv = [rng.random() for _ in METRIC_KEYS]
                metrics.extend((row, k, v, 100, end) for k, v in zip(METRIC_KEYS, mv))
                acc = mv[-1]
                if acc > 0.9:
                    cand_a.append((acc, start, run_id, row))
                if pv[3] == "v1" and mv[2] < 0.5:
                    match_b += 1
                    newest_b.append((run_id, row))
            db.executemany(sql_run, runs)
            db.executemany(sql_param, params)
            db.executemany(sql_tag, tags)
            db.executemany(sql_metric, metrics)
            db.executemany(sql_point, metrics)  # one point per metric: the same values
            rows.update(runs=len(runs), run_params=len(params), run_tags=len(tags), run_metrics=len(metrics),
                        run_metric_points=len(metrics))
            done = min(n, lo + GEN_BATCH)
            if done % GEN_TXN == 0 or done == n:
                db.execute("COMMIT")
                if done < n:
                    db.execute("BEGIN")
                if n >= 200_000:
                    log(f"  generated {done}/{n} runs ({time.perf_counter() - t0:.0f} s)")
    finally:
        db.close()  # checkpoints the WAL
    gen_s = time.perf_counter() - t0
    top_a = heapq.nsmallest(10, cand_a, key=lambda c: (-c[0], -c[1], c[2]))
    expected = {
        "a": [{"id": c[2], "row": c[3], "acc": c[0]} for c in top_a],
        "a_matches": len(cand_a),
        "b": [{"id": rid, "row": row} for rid, row in reversed(newest_b)],
        "b_matches": match_b,
    }
    return {"seconds": gen_s, "rows": dict(rows)}, expected


def db_bytes(repo):
    d = os.path.join(repo, ".cairn")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("state.db"))


def check_query_a(ctx, repo, n, exp):
    out = ctx.output([ctx.cairn, *QUERY_A, "--json"], cwd=repo)
    got = json.loads(out)
    ids = [r["id"] for r in got]
    want = [e["id"] for e in exp["a"]]
    if ids != want:
        raise BenchError(f"search {n}: query A returned {ids}, expected the top 10 by acc {want}")
    accs = [r["metrics"]["acc"]["value"] for r in got]
    if any(abs(a - e["acc"]) > 1e-12 for a, e in zip(accs, exp["a"])) or accs != sorted(accs, reverse=True) \
            or any(a <= 0.9 for a in accs):
        raise BenchError(f"search {n}: query A acc values {accs} are wrong or not sorted descending")


def check_query_b(ctx, repo, n, exp):
    out = ctx.output([ctx.cairn, *QUERY_B, "--json"], cwd=repo)
    got = json.loads(out)
    ids = [r["id"] for r in got]
    want = [e["id"] for e in exp["b"]]
    starts = [r["start_time"] for r in got]
    if ids != want or starts != sorted(starts, reverse=True) or \
            any(r["params"].get("p3") != "v1" or not r["metrics"]["m2"]["value"] < 0.5 for r in got):
        raise BenchError(f"search {n}: query B returned {ids}, expected the 10 newest matching runs {want}")


def explain(db_path, sql, binds, repeats=5):
    """EXPLAIN QUERY PLAN lines and the best-of-N time of the query itself."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        plan = db.execute("EXPLAIN QUERY PLAN " + sql, binds).fetchall()
        depth = {0: -1}
        lines = []
        for node, parent, _, detail in plan:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        best, rows = None, None
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = [r[0] for r in db.execute(sql, binds).fetchall()]
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
    finally:
        db.close()
    return lines, best, rows


def bench_search(ctx):
    cfg = ctx.cfg
    results = []
    fixed_name, a_name, b_name = "fixed cost (--limit 0)", "A: acc > 0.9, sort acc DESC", \
        "B: p3 = 'v1' and m2 < 0.5, newest"
    for n in cfg["sizes"]:
        repo = os.path.join(ctx.workdir, f"search-{n}")
        cairn_repo(ctx, repo)
        ctx.run([ctx.cairn, "runs"], cwd=repo)  # creates the tracking tables
        dbp = os.path.join(repo, ".cairn", "state.db")
        log(f"[tracking] search: generating {n} runs into {dbp}")
        gen, exp = gen_index(dbp, n, cfg["seed"])
        size = db_bytes(repo)
        log(f"  generated {n} runs in {gen['seconds']:.1f} s ({sum(gen['rows'].values())} rows, "
            f"{size / MIB:.0f} MiB)")
        ctx.records.append({"label": f"search {n}: generate", "seconds": round(gen["seconds"], 3),
                            "rows": gen["rows"], "db_bytes": size})
        check_query_a(ctx, repo, n, exp)
        check_query_b(ctx, repo, n, exp)
        t = ctx.hyperfine(f"search {n}", [(fixed_name, [ctx.cairn, *QUERY_FIXED]),
                                          (a_name, [ctx.cairn, *QUERY_A]),
                                          (b_name, [ctx.cairn, *QUERY_B])],
                          cwd=repo, warmup=cfg["search_warmup"])
        plan_a, sql_a, rows_a = explain(dbp, *SQL_A)
        plan_b, sql_b, rows_b = explain(dbp, *SQL_B)
        for q, got, want in (("A", rows_a, [e["row"] for e in exp["a"]]), ("B", rows_b, [e["row"] for e in exp["b"]])):
            if got != want:
                ctx.notes.append(f"search {n}: the SQL rebuilt for query {q} in bench/tracking.py returns other "
                                 "rows than cairn; its plan may not be the one cairn runs (update SQL_{q})")
        results.append({"runs": n, "generate_s": gen["seconds"], "rows": gen["rows"], "db_bytes": size,
                        "fixed": t[fixed_name], "query_a": t[a_name], "query_b": t[b_name],
                        "sql_a_s": sql_a, "sql_b_s": sql_b, "plan_a": plan_a, "plan_b": plan_b,
                        "matches_a": exp["a_matches"], "matches_b": exp["b_matches"], "verified": True})
        if not cfg["keep"]:
            rm(repo)
    return {"query_a": show_cmd(["cairn", *QUERY_A]), "query_b": show_cmd(["cairn", *QUERY_B]),
            "fixed": show_cmd(["cairn", *QUERY_FIXED]), "sql_a": SQL_A[0], "sql_b": SQL_B[0],
            "warmup": cfg["search_warmup"], "sizes": results}


# ---------------------------------------------------------------------------
# Part 3: cairn run overhead
# ---------------------------------------------------------------------------

def bench_run(ctx):
    cfg = ctx.cfg
    repo = repo_with_dataset(ctx, "run")
    ctx.run([ctx.cairn, "run", "--", "true"], cwd=repo)  # untimed first run (creates the tracking tables)
    names = ["cairn run -- true", "true", "git status"]
    t = ctx.hyperfine("run", [(names[0], [ctx.cairn, "run", "--", "true"]), (names[1], ["true"]),
                              (names[2], ["git", "status"])],
                      cwd=repo, warmup=cfg["run_warmup"], runs=cfg["run_runs"])
    # Every timed run must have been recorded, finished, exit 0, with the dataset as input.
    want = 1 + cfg["run_warmup"] + cfg["run_runs"]
    got = json.loads(ctx.output([ctx.cairn, "runs", "--json", "--limit", str(want + 10)], cwd=repo))
    bad = [r["id"] for r in got if r["status"] != "FINISHED" or r["exit_code"] != 0]
    if len(got) != want or bad:
        raise BenchError(f"run: expected {want} FINISHED runs with exit 0, found {len(got)} (bad: {bad[:5]})")
    show = json.loads(ctx.output([ctx.cairn, "runs", "show", got[0]["id"], "--json"], cwd=repo))
    if [i["dataset"] for i in show.get("inputs", [])] != ["iris.csv"]:
        ctx.notes.append(f"run: the last run's inputs are {show.get('inputs')}, expected iris.csv")
    status = ctx.output(["git", "status", "--porcelain"], cwd=repo)
    if status.strip():
        ctx.notes.append(f"run: git status is not clean after the runs: {status.strip()[:200]}")
    cr, tr, gs = (t[x] for x in names)
    if not cfg["keep"]:
        rm(repo)
    return {"warmup": cfg["run_warmup"], "runs": cfg["run_runs"], "commands": t,
            "overhead_s": cr["mean_s"] - tr["mean_s"], "cairn_over_git_status": cr["mean_s"] / gs["mean_s"],
            "recorded_runs": len(got)}


# ---------------------------------------------------------------------------
# Section: run, evaluate, report
# ---------------------------------------------------------------------------

def snapshot_python(workdir):
    """Copies the built Python package so a rebuild cannot swap it mid-run."""
    src = find_python_package()
    if src is None:
        raise BenchError("no built Python package (build/python/cairn); run 'make build' or set CAIRN_PYTHONPATH")
    dest = os.path.join(workdir, "python")
    shutil.copytree(os.path.join(src, "cairn"), os.path.join(dest, "cairn"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def file_info(path):
    """Which build was measured: binaries are rebuilt while people work."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    st = os.stat(path)
    return {"sha256": h.hexdigest(), "bytes": st.st_size,
            "mtime": datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")}


def run_section(workdir, cairn, env, cfg):
    """Runs the configured parts in workdir (created) with the cairn binary and
    environment given; returns the JSON section (with goals)."""
    os.makedirs(workdir, exist_ok=True)
    env = dict(env)
    for k in ("CAIRN_RUN_ID", "CAIRN_DIR", "CAIRN_TRACKING_URI", "CAIRN_EXPERIMENT"):
        env.pop(k, None)  # never attach to a run of whoever started the benchmark
    binaries = {"cairn": file_info(cairn)}
    if "log" in cfg["parts"] or "create" in cfg["parts"]:
        env["PYTHONPATH"] = snapshot_python(workdir)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        pkg = os.path.join(env["PYTHONPATH"], "cairn")
        for f in sorted(os.listdir(pkg)):
            if f.startswith("_cairn") and f.endswith(".so"):
                binaries["python_module"] = file_info(os.path.join(pkg, f))
    ctx = Ctx(workdir, cairn, env, cfg)
    section = benchlib.section_start(ctx, FULL, binaries=binaries)
    benchlib.run_parts(ctx, section, "tracking", [
        ("log", f"log_metric: {cfg['points']} points x {cfg['log_runs']} runs", bench_log),
        ("search", f"search: sizes {', '.join(str(s) for s in cfg['sizes'])}", bench_search),
        ("run", "run overhead: cairn run -- true", bench_run),
        ("create", f"run creation: {cfg['create_runs']} runs after {cfg['create_pre']}", bench_create)])
    section["goals"] = evaluate_goals(section)
    return benchlib.section_end(ctx, section, versions={
        "hyperfine": first_line(["hyperfine", "--version"]), "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version()})


def evaluate_goals(section):
    goals = []
    lg = section.get("log")
    v = lg["cairn_points_per_s"] if lg else None
    goals.append((4, v, None if v is None else v >= GOAL_POINTS_PER_S,
                  "-" if v is None else f"{v:,.0f} points/s ({lg['points']:,} points)", f">= {GOAL_POINTS_PER_S:,}"))
    sr = section.get("search")
    row = next((r for r in sr["sizes"] if r["runs"] == GOAL_SEARCH_SIZE), None) if sr else None
    v = row["query_a"]["mean_s"] if row else None
    goals.append((5, v, None if v is None else v < GOAL_SEARCH_S,
                  "-" if v is None else f"{v * 1000:.1f} ms", f"< {GOAL_SEARCH_S * 1000:.0f} ms"))
    rn = section.get("run")
    v = rn["overhead_s"] if rn else None
    goals.append((6, v, None if v is None else v < GOAL_RUN_OVERHEAD_S,
                  "-" if v is None else f"{v * 1000:.1f} ms (cairn run -- true {rn['commands']['cairn run -- true']['mean_s'] * 1000:.1f} ms"
                                       f" - true {rn['commands']['true']['mean_s'] * 1000:.1f} ms)",
                  f"< {GOAL_RUN_OVERHEAD_S * 1000:.0f} ms"))
    cr = section.get("create")
    v = cr["runs_per_s"] if cr else None
    goals.append((7, v, None if v is None else v >= GOAL_CREATE_RUNS_PER_S,
                  "-" if v is None else f"{v:,.0f} runs/s (median {cr['median_ms']:.1f} ms, p90 {cr['p90_ms']:.1f} ms,"
                                       f" after {cr['pre']:,} runs)", f">= {GOAL_CREATE_RUNS_PER_S}"))
    return benchlib.goal_records("tracking", goals, GOALS_DOC)


def fmt_ms(s):
    return "-" if s is None else f"{s * 1000:.1f}"


def fmt_ms_sd(st):
    return "-" if st is None else f"{st['mean_s'] * 1000:.1f} ± {(st['stddev_s'] or 0) * 1000:.1f}"


def report_lines(section):
    """The human-readable report as a list of lines."""
    L = []
    L.append("cairn experiment-tracking benchmark" + ("" if section["full_sizes"] else " (smaller than the full sizes)")
             + ".  All timings are WARM-CACHE wall-clock times.")
    b = section.get("binaries", {})
    L.append("Measured: " + ", ".join(f"{k} sha256 {v['sha256'][:12]} (modified {v['mtime']})" for k, v in b.items()))
    lg = section.get("log")
    if lg:
        L.append("")
        L.append(f"log_metric from Python: {lg['points']:,} points of one metric, time from the first log to after "
                 f"flush(); median of {lg['repeats']} fresh interpreter{'s' if lg['repeats'] > 1 else ''}")
        body = [[r["what"], f"{r['seconds']:.3f}", f"{r['points_per_s']:,.0f}", f"{r['cairn_rate_over_this']:.2f}x"]
                for r in lg["rows"]]
        L += rows_text(["method", "seconds", "points/s", "cairn rate / this"], body)
        L.append(f"  note: ending the run afterwards (seals the record and the {lg['points']:,}-point history) took "
                 f"{lg['cairn_end_run_s']:.3f} s; with it, {lg['cairn_with_end_run_points_per_s']:,.0f} points/s.")
        L.append(f"  note: sqlite3 = same row shape and index as run_metric_points, WAL, synchronous=NORMAL, one "
                 f"transaction; executemany alone took {lg['sqlite_executemany_only_s']:.3f} s of it.")
        if lg.get("mlflow_skipped"):
            L.append(f"  note: MLflow skipped: {lg['mlflow_skipped']}; the context is the list.append floor and "
                     "sqlite3 executemany.")
        L.append("  note: runs (s): " + "; ".join(f"{r['method']} " + ", ".join(f"{x:.3f}" for x in r["runs_s"])
                                               for r in lg["rows"]))
    sr = section.get("search")
    if sr:
        L.append("")
        L.append("cairn runs search over generated runs (20 params, 10 metrics each): hyperfine --warmup "
                 f"{sr['warmup']}, mean ± σ in ms")
        body = [[f"{r['runs']:,}", f"{r['generate_s']:.1f}", f"{r['db_bytes'] / MIB:.0f}", fmt_ms_sd(r["fixed"]),
                 fmt_ms_sd(r["query_a"]), fmt_ms_sd(r["query_b"]), f"{r['sql_a_s'] * 1000:.2f}",
                 f"{r['sql_b_s'] * 1000:.2f}"] for r in sr["sizes"]]
        L += rows_text(["runs", "generate s", "db MiB", "fixed ms", "query A ms", "query B ms", "A sql ms",
                        "B sql ms"], body)
        L.append(f"  A: {sr['query_a']}")
        L.append(f"  B: {sr['query_b']}")
        L.append(f"  fixed: {sr['fixed']} (process start, repository and index open, no rows)")
        L.append("  sql ms: the SELECT cairn builds, run alone from Python's sqlite3 (best of 5), without loading the "
                 "runs")
        L.append("  checked at every size: A returns the true top 10 by acc (computed in Python from the generated "
                 "values), sorted descending; B the 10 newest runs matching.")
        for r in sr["sizes"]:
            for q in ("a", "b"):
                if r[f"query_{q}"]["mean_s"] >= GOAL_SEARCH_S:
                    L.append(f"  slow: query {q.upper()} at {r['runs']:,} runs takes "
                             f"{r[f'query_{q}']['mean_s'] * 1000:.1f} ms; EXPLAIN QUERY PLAN:")
                    for line in r[f"plan_{q}"]:
                        L.append(f"    {line}")
    rn = section.get("run")
    if rn:
        L.append("")
        L.append(f"run start/end overhead: hyperfine -N --warmup {rn['warmup']} --runs {rn['runs']} in a small "
                 "repository with one tracked dataset (mean ± σ in ms)")
        c = rn["commands"]
        base = c["cairn run -- true"]["mean_s"]
        body = [[name, fmt_ms_sd(st), fmt_ms(st["median_s"]), fmt_ms(st["min_s"]), fmt_ms(st["max_s"]),
                 f"{base / st['mean_s']:.2f}x"] for name, st in c.items()]
        L += rows_text(["command", "mean ms", "median ms", "min ms", "max ms", "cairn run / this"], body)
        L.append(f"  overhead = cairn run -- true - true = {rn['overhead_s'] * 1000:.1f} ms; "
                 f"{rn['recorded_runs']} runs recorded, all FINISHED with exit 0.")
    cr = section.get("create")
    if cr:
        L.append("")
        L.append(f"run creation from Python: {cr['runs']:,} runs (20 params, 10 metrics, each started, logged and "
                 f"ended) after {cr['pre']:,} such runs, in a git repository with one tracked dataset")
        cpu = cr.get("cpu_ms_per_run")
        L += rows_text(["runs/s", "median ms", "p90 ms", "cpu ms/run", "seconds"],
                       [[f"{cr['runs_per_s']:,.0f}", f"{cr['median_ms']:.2f}", f"{cr['p90_ms']:.2f}",
                         "-" if cpu is None else f"{cpu:.2f}", f"{cr['seconds']:.2f}"]])
    return L + benchlib.report_end(section, f"{FULL['points']:,} points / runs up to {FULL['sizes'][-1]:,}")


# ---------------------------------------------------------------------------
# Standalone
# ---------------------------------------------------------------------------

USAGE = __doc__ + """
Options:
  --quick                  200 000 points; 10k and 100k runs (same as BENCH_QUICK=1)
  --only PARTS             comma-separated subset of log,search,run,create
Environment:
  BENCH_QUICK=1            as --quick
  BENCH_TRACKING_PARTS     as --only (default log,search,run,create)
  BENCH_TRACKING_POINTS=N  points logged per log_metric run (1000000; quick 200000)
  BENCH_TRACKING_LOG_RUNS=N  log_metric repetitions; the median is reported (3)
  BENCH_TRACKING_SIZES=a,b runs per search index (10000,100000,1000000; quick 10000,100000)
  BENCH_TRACKING_MLFLOW_POINTS=N  points for MLflow, when importable (10000)
  BENCH_TRACKING_CREATE_PRE=N  runs created before the timed batch (3000; quick 1000)
  BENCH_TRACKING_CREATE_RUNS=N runs in the timed batch (1000; quick 300)
  BENCH_SEED=N             seed of the generated runs (fixed default)
  BENCH_KEEP=1             keep the work directory
  CAIRN_BIN=PATH           cairn binary (default: build/cairn)
  CAIRN_PYTHONPATH=DIR     directory holding the cairn Python package (default: build/python)
  TMPDIR=DIR               where the work directory is created (default /tmp)"""


def machine_extra(section, versions):
    """sqlite and hyperfine on the machine line."""
    return [f"sqlite {section['versions']['sqlite']}", versions["hyperfine"]]


def main(argv):
    return benchlib.standalone("tracking", USAGE, make_config, run_section, report_lines, argv, parts_all=PARTS,
                               tools={"hyperfine": ["hyperfine", "--version"]}, machine_extra=machine_extra,
                               text=False, log_parts=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
