#!/usr/bin/env python3
"""cairn model-registry benchmark: `cairn gate` and `cairn model show` in a
store that holds many runs and many model versions.

Setup (untimed): a git repository with the retrieval example
(examples/retrieval: corpus and eval tracked as datasets, tagged v3, and its
cairn.yaml with the three gates of model `retriever`); BENCH_REGISTRY_RUNS
finished runs (100 000; quick 10 000) generated straight into the tracking
index (bench/tracking.py's generator, the same rows as its search part);
BENCH_REGISTRY_VERSIONS real runs (100; quick 20) made with the Python module,
each reading corpus@v3 and eval@v3 and logging mrr and a model file; each
registered with `cairn model register` (timed in total: registrations per
second), version 1 promoted to production.

Timed with hyperfine -N (mean):
  cairn gate retriever@N --to production   (all three gates; the latest version, which passes)
  cairn model show retriever@production    (text and --json)
and, in the same repository, what people use instead:
  cairn runs … --where 'metrics.mrr >= 0.70' --sort … --limit 1 --exit-code
                                             (a gate over runs, as before the registry)
  cairn runs show RUN                        (the producing run's provenance, without the registry)
  cat <the alias ref file>                   (the floor: reading the pointer, no checks)
  git show HEAD:cairn.yaml                   (a git process reading one object)
  cairn --version                            (process start: the floor of any cairn command)

Usage: bench/registry.py [--quick]
Standard library only, plus hyperfine. Also run by bench/run (make bench) as
its "registry" section. The audit log's benchmark (audit verify of 1M
entries) is a section of its own. See bench/README.md.
"""

import json
import os
import shlex
import shutil
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import benchlib  # noqa: E402  bench/benchlib.py: what the benchmark sections share
import tracking  # noqa: E402  bench/tracking.py: the run generator, hyperfine, the Python package snapshot
from benchlib import MIB, ROOT, BenchError, cairn_repo, first_line, log, rm, rows_text  # noqa: E402

FULL = {"runs": 100_000, "versions": 100}
QUICK = {"runs": 10_000, "versions": 20}
GOAL_GATE_S = 0.050
GOAL_SHOW_S = 0.020
# Goal ids continue bench/run's (1-3), bench/tracking.py's (4-7) and bench/remote.py's (7-8).
GOALS_DOC = [
    (10, "cairn gate (3 gates) with 100 model versions and 100k runs in the store: < 50 ms mean"),
    (11, "cairn model show NAME@ALIAS with 100 model versions and 100k runs: < 20 ms mean"),
]
MODEL = "retriever"
RETRIEVAL = os.path.join(ROOT, "examples", "retrieval")

# One interpreter makes the runs the versions are registered from: each reads
# both datasets (so evaluated_on: eval@v3 has something to check), logs the
# metrics and a small model file. Prints the run ids as JSON.
RUNS_CHILD = r'''
import json, os, sys
import cairn

n = int(sys.argv[1])
ids = []
os.makedirs("models", exist_ok=True)
for i in range(n):
    params = {"chunk_size": 16 + i % 64, "top_k": 10}
    with cairn.start_run(experiment="retrieval", params=params) as run:
        cairn.use_dataset("corpus@v3")
        cairn.use_dataset("eval@v3")
        # Later versions are better, so the newest passes "better than production".
        cairn.log_metrics({"mrr": 0.70 + 0.25 * (i + 1) / n, "recall_at_5": 0.8})
        with open("models/retriever.json", "w") as f:
            json.dump({"kind": "bm25-chunks", "params": params, "i": i}, f)
        cairn.log_artifact("models/retriever.json")
    ids.append(run.id)
print(json.dumps(ids))
'''


def make_config(quick=None):
    quick, base = benchlib.sizes_for(quick, FULL, QUICK)
    cfg = {
        "quick": quick,
        "runs": benchlib.env_int("BENCH_REGISTRY_RUNS", base["runs"]),
        "versions": max(2, benchlib.env_int("BENCH_REGISTRY_VERSIONS", base["versions"])),
        "seed": benchlib.env_int("BENCH_SEED", 20240601),
        "warmup": 3,
        "keep": benchlib.env_flag("BENCH_KEEP"),
    }
    if cfg["runs"] < 10:
        sys.exit("bench: BENCH_REGISTRY_RUNS must be >= 10")
    return cfg


def disk_need(cfg):
    return int(cfg["runs"] * tracking.GEN_BYTES_PER_RUN * 1.5) + 256 * MIB


def missing_prereqs(cfg):
    out = []
    if not shutil.which("hyperfine"):
        out.append("hyperfine is not installed (run 'scripts/bootstrap --bench')")
    if not shutil.which("git"):
        out.append("git is not installed")
    if not tracking.find_python_package():
        out.append("no built Python package (build/python/cairn; run 'make build' or set CAIRN_PYTHONPATH)")
    if not os.path.isfile(os.path.join(RETRIEVAL, "cairn.yaml")):
        out.append(f"missing {RETRIEVAL}/cairn.yaml")
    return out


def setup_repo(ctx):
    """The retrieval project with the generated runs, the real runs and the registered versions."""
    cfg = ctx.cfg
    repo = os.path.join(ctx.workdir, "registry")
    cairn_repo(ctx, repo)
    for name in ("retrieve.py", "cairn.yaml", "params.yaml"):
        shutil.copy(os.path.join(RETRIEVAL, name), repo)
    os.makedirs(os.path.join(repo, "data"))
    for name in ("corpus", "eval"):
        shutil.copy(os.path.join(RETRIEVAL, "data", name + ".jsonl"), os.path.join(repo, "data"))
        ctx.run([ctx.cairn, "add", f"data/{name}.jsonl", "--name", name], cwd=repo)
        ctx.run([ctx.cairn, "tag", name, "v3"], cwd=repo)
    with open(os.path.join(repo, ".gitignore"), "w") as f:
        f.write("models/\n")
    ctx.run(["git", "add", "-A"], cwd=repo)
    ctx.run(["git", "commit", "-q", "-m", "retrieval project"], cwd=repo)

    ctx.run([ctx.cairn, "runs"], cwd=repo)  # creates the tracking tables
    dbp = os.path.join(repo, ".cairn", "state.db")
    log(f"[registry] generating {cfg['runs']:,} runs into {dbp}")
    gen, _ = tracking.gen_index(dbp, cfg["runs"], cfg["seed"])
    ctx.records.append({"label": "generate runs", "seconds": round(gen["seconds"], 3), "rows": gen["rows"]})

    log(f"[registry] {cfg['versions']} real runs (Python module) and their registrations")
    t0 = time.perf_counter()
    ids = json.loads(ctx.output([sys.executable, "-c", RUNS_CHILD, str(cfg["versions"])], cwd=repo)
                     .strip().splitlines()[-1])
    runs_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for rid in ids:
        ctx.run([ctx.cairn, "model", "register", MODEL, "--run", rid, "--artifact", "retriever.json"], cwd=repo)
    register_s = time.perf_counter() - t0
    ctx.run([ctx.cairn, "model", "promote", f"{MODEL}@1", "--to", "production"], cwd=repo)
    versions = json.loads(ctx.output([ctx.cairn, "model", "versions", MODEL, "--json"], cwd=repo))
    versions = versions.get("versions", versions) if isinstance(versions, dict) else versions
    if len(versions) != cfg["versions"]:
        raise BenchError(f"expected {cfg['versions']} versions of {MODEL}, `cairn model versions` lists {len(versions)}")
    return repo, ids, {"real_runs_s": runs_s, "register_s": register_s,
                       "registrations_per_s": len(ids) / register_s, "generate": gen}


def alias_ref_file(repo):
    """The file the production alias is stored in (the `cat` floor), or None when not found."""
    d = os.path.join(repo, ".cairn", "refs", "models", MODEL)
    for base, _, files in os.walk(d):
        if "production" in files:
            return os.path.relpath(os.path.join(base, "production"), repo)
    return None


def bench_registry(ctx):
    cfg = ctx.cfg
    repo, ids, setup = setup_repo(ctx)
    n = cfg["versions"]
    candidate = f"{MODEL}@{n}"
    gate = ["gate", candidate, "--to", "production"]
    # The verdicts must be real: the newest version passes every gate, an older one is refused.
    out = ctx.output([ctx.cairn, *gate, "--format", "json"], cwd=repo)
    report = json.loads(out)
    rules = report.get("rules", [])
    if len(rules) != 3 or not all(r.get("outcome") == "PASS" for r in rules):
        raise BenchError(f"cairn gate {candidate}: expected 3 passing gates, got {out[:800]}")
    ctx.run([ctx.cairn, "gate", f"{MODEL}@1", "--to", "production"], cwd=repo, ok_codes=(1,))
    shown = json.loads(ctx.output([ctx.cairn, "model", "show", f"{MODEL}@production", "--json"], cwd=repo))
    if shown.get("version") != 1:
        raise BenchError(f"cairn model show {MODEL}@production: version {shown.get('version')}, expected 1")

    where = ["runs", "--where", "metrics.mrr >= 0.70", "--sort", "metrics.mrr DESC",
             "--limit", "1", "--exit-code"]
    commands = [
        ("cairn gate", [ctx.cairn, *gate]),
        ("cairn model show", [ctx.cairn, "model", "show", f"{MODEL}@production"]),
        ("cairn model show --json", [ctx.cairn, "model", "show", f"{MODEL}@production", "--json"]),
        ("cairn runs --where … --exit-code", [ctx.cairn, *where]),
        ("cairn runs show RUN", [ctx.cairn, "runs", "show", ids[0]]),
    ]
    ref = alias_ref_file(repo)
    if ref:
        commands.append(("cat alias ref", ["cat", ref]))
    else:
        ctx.notes.append("no file named 'production' under .cairn/refs/models/: the cat floor is left out")
    commands += [("git show HEAD:cairn.yaml", ["git", "show", "HEAD:cairn.yaml"]),
                 ("cairn --version", [ctx.cairn, "--version"])]
    t = ctx.hyperfine("registry", commands, cwd=repo, warmup=cfg["warmup"])
    audit = None
    p = ctx.output([ctx.cairn, "audit", "log", "--json"], cwd=repo)
    try:
        audit = len(json.loads(p))
    except ValueError:
        pass
    if not cfg["keep"]:
        rm(repo)
    return {"runs": cfg["runs"], "versions": n, "setup": setup, "commands": t, "alias_ref": ref,
            "audit_entries_after": audit,
            "shown": {name: tracking.show_cmd(["cairn" if a == ctx.cairn else a for a in argv])
                      for name, argv in commands}}


def run_section(workdir, cairn, env, cfg):
    os.makedirs(workdir, exist_ok=True)
    env = dict(env)
    for k in ("CAIRN_RUN_ID", "CAIRN_DIR", "CAIRN_TRACKING_URI", "CAIRN_EXPERIMENT"):
        env.pop(k, None)
    env["PYTHONPATH"] = tracking.snapshot_python(workdir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    ctx = tracking.Ctx(workdir, cairn, env, cfg)
    section = benchlib.section_start(ctx, FULL, binaries={"cairn": tracking.file_info(cairn)})
    log(f"[registry] {cfg['versions']} model versions, {cfg['runs']:,} runs")
    section["registry"] = bench_registry(ctx)
    section["goals"] = evaluate_goals(section)
    return benchlib.section_end(ctx, section, versions={"hyperfine": first_line(["hyperfine", "--version"])})


def evaluate_goals(section):
    r = section.get("registry")
    goals = []
    for gid, name, target in ((10, "cairn gate", GOAL_GATE_S), (11, "cairn model show", GOAL_SHOW_S)):
        st = r["commands"].get(name) if r else None
        v = st["mean_s"] if st else None
        goals.append((gid, v, None if v is None else v < target,
                      "-" if v is None else f"{v * 1000:.1f} ms ({r['versions']} versions, {r['runs']:,} runs)",
                      f"< {target * 1000:.0f} ms"))
    return benchlib.goal_records("registry", goals, GOALS_DOC)


def report_lines(section):
    r = section["registry"]
    L = ["cairn model-registry benchmark" + ("" if section["full_sizes"] else " (smaller than the full sizes)")
         + ".  All timings are WARM-CACHE wall-clock times."]
    s = r["setup"]
    L.append(f"Store: {r['runs']:,} generated runs + {r['versions']} real runs, {r['versions']} versions of "
             f"'{MODEL}' (production = 1); gates: the 3 of examples/retrieval/cairn.yaml.")
    L.append(f"Setup: {r['versions']} runs from Python in {s['real_runs_s']:.1f} s; {r['versions']} `cairn model "
             f"register` in {s['register_s']:.1f} s ({s['registrations_per_s']:.1f}/s).")
    L.append("")
    L.append(f"hyperfine -N --warmup {section['config']['warmup']}, mean ± σ in ms")
    c = r["commands"]
    gate, show = c["cairn gate"]["mean_s"], c["cairn model show"]["mean_s"]
    body = [[name, tracking.fmt_ms_sd(st), tracking.fmt_ms(st["min_s"]), f"{st['mean_s'] / gate:.2f}",
             f"{st['mean_s'] / show:.2f}", r["shown"][name]] for name, st in c.items()]
    L += rows_text(["command", "mean ms", "min ms", "/ gate", "/ show", "as run"], body)
    L.append("  cairn gate evaluates metrics.mrr >= 0.70, metrics.mrr > production.metrics.mrr and "
             "evaluated_on: eval@v3 and appends a 'gate' audit entry (durable) per call;")
    L.append("  `cairn runs --where … --exit-code` is the gate people wrote over runs before the registry: one "
             "threshold, no comparison with production, no data check, no record.")
    L.append("  `cat` reads the alias pointer with no check at all; `git show` and `cairn --version` are process "
             "floors.")
    if r.get("audit_entries_after") is not None:
        L.append(f"  audit log after the timings: {r['audit_entries_after']:,} entries.")
    return L + benchlib.report_end(section, f"{FULL['versions']} versions / {FULL['runs']:,} runs")


USAGE = __doc__ + """
Options:
  --quick                  10 000 runs, 20 versions (same as BENCH_QUICK=1)
Environment:
  BENCH_QUICK=1            as --quick
  BENCH_REGISTRY_RUNS=N    generated runs in the store (100000; quick 10000)
  BENCH_REGISTRY_VERSIONS=N  model versions registered (100; quick 20)
  BENCH_SEED=N             seed of the generated runs (fixed default)
  BENCH_KEEP=1             keep the work directory
  CAIRN_BIN=PATH           cairn binary (default: build/cairn)
  CAIRN_PYTHONPATH=DIR     directory holding the cairn Python package (default: build/python)
  TMPDIR=DIR               where the work directory is created (default /tmp)"""


def machine_extra(section, versions):
    return [versions["hyperfine"]]


def main(argv):
    return benchlib.standalone("registry", USAGE, make_config, run_section, report_lines, argv,
                               tools={"hyperfine": ["hyperfine", "--version"]}, machine_extra=machine_extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
