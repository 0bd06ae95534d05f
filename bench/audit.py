#!/usr/bin/env python3
"""cairn audit-log benchmark: `cairn audit verify` of a 1M-entry log vs sha256sum, and appends.

  build    a log of BENCH_AUDIT_ENTRIES entries (1 000 000; quick 100 000) written
           straight from Python with hashlib, following doc/formats.md ("Audit log",
           cairn-audit 1): a chain of canonical JSON bodies, each naming the previous
           entry's SHA-256, and the HEAD file.  That cairn accepts it is an independent
           check of the format doc.
  verify   `cairn audit verify --json` (re-hashes every line, checks the chain and HEAD)
           vs `sha256sum` of the same file (the physical limit: hashing its bytes once);
           ratio printed.  Goal: < 5 s for 1 000 000 entries.
  append   BENCH_AUDIT_APPENDS (100; quick 30) golden tags, each a `cairn tag --golden`
           process appending one entry (fsync of the line, atomic HEAD) to that big log,
           vs the same number of plain tags (no audit entry): median times, so the
           difference is what an append costs.

Usage: bench/audit.py [--quick]
Standard library only, plus git and sha256sum.  Also run by bench/run (make bench) as its
"audit" section.  See bench/README.md.
"""

import hashlib
import json
import os
import shutil
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import benchlib  # noqa: E402  bench/benchlib.py: what the benchmark sections share
from benchlib import MIB, BenchError, fmt_r, log  # noqa: E402

FULL = {"entries": 1000000, "appends": 100}
QUICK = {"entries": 100000, "appends": 30}
VERIFY_GOAL_S = 5.0
GOAL_DOCS = [("audit_verify_1m", "cairn audit verify of 1 000 000 entries")]


def make_config(quick=None):
    quick, base = benchlib.sizes_for(quick, FULL, QUICK)
    cfg = {
        "quick": quick,
        "entries": benchlib.env_int("BENCH_AUDIT_ENTRIES", base["entries"]),
        "appends": benchlib.env_int("BENCH_AUDIT_APPENDS", base["appends"]),
        "verify": False,
        "keep": benchlib.env_flag("BENCH_KEEP"),
    }
    if cfg["entries"] < 1 or cfg["appends"] < 1:
        sys.exit("bench: BENCH_AUDIT_ENTRIES and BENCH_AUDIT_APPENDS must be >= 1")
    return cfg


def disk_need(cfg):
    return cfg["entries"] * 400 + 64 * MIB


def inode_need(cfg):
    return 10000


def missing_prereqs(cfg):
    return [] if shutil.which("sha256sum") else ["sha256sum (coreutils) is not installed"]


def quote(s):
    return json.dumps(s, ensure_ascii=False)


def write_log(audit_dir, n):
    """n chained entries in the cairn-audit 1 format, and HEAD. Returns (bytes, head id)."""
    os.makedirs(audit_dir, exist_ok=True)
    prev = None
    size = 0
    t0 = 1764633600000
    with open(os.path.join(audit_dir, "log"), "wb", buffering=8 * MIB) as f:
        for i in range(n):
            body = ('{"prev":[%s],"time_ms":%d,"user":"Bench User <bench@example.invalid>","host":"bench",'
                    '"action":"model.promote","subjects":["model:retriever@%d","model:retriever"],'
                    '"reason":%s,"details":{"alias":"production","from":%d,"to":%d}}'
                    % ('"%s"' % prev if prev else "", t0 + i, i % 1000 + 1, quote("promotion %d" % i), i, i + 1))
            line = body.encode()
            prev = hashlib.sha256(line).hexdigest()
            f.write(line + b"\n")
            size += len(line) + 1
    with open(os.path.join(audit_dir, "HEAD"), "w") as f:
        f.write("cairn-audit 1\nentries %d\nbytes %d\nhead %s\n" % (n, size, prev))
    return size, prev


def run_section(workdir, cairn, env, cfg):
    os.makedirs(workdir, exist_ok=True)
    ctx = benchlib.Ctx(workdir, cairn, dict(env), cfg)
    section = benchlib.section_start(ctx, FULL, drop=("keep", "verify"))
    repo = os.path.join(workdir, "repo")
    benchlib.cairn_repo(ctx, repo)
    with open(os.path.join(repo, "data.bin"), "wb") as f:
        f.write(os.urandom(4096))
    ctx.run([cairn, "add", "data.bin"], repo)

    n = cfg["entries"]
    log(f"[audit] writing a log of {n:,} entries from Python (doc/formats.md)")
    audit_dir = os.path.join(repo, ".cairn", "audit")
    size, head = write_log(audit_dir, n)
    log_file = os.path.join(audit_dir, "log")
    ctx.run(["cat", log_file], repo, ok_codes=(0,))  # warm the page cache for both readers

    verify_s, rep = ctx.cairn_json(["audit", "verify"], repo, f"cairn audit verify ({n:,} entries)")
    if not rep.get("ok") or rep.get("entries") != n or rep.get("heads") != [head]:
        raise BenchError(f"cairn audit verify rejected the log written from the format doc: "
                         f"{json.dumps(rep)[:1500]}")
    sha_s, _ = ctx.run(["sha256sum", log_file], repo, label="sha256sum of the log")

    appends = cfg["appends"]
    log(f"[audit] {appends} golden tags (one audit entry each) vs {appends} plain tags")
    golden, plain = [], []
    for i in range(appends):
        golden.append(timed(ctx, [cairn, "tag", "data.bin", f"g{i}", "--golden"], repo))
        plain.append(timed(ctx, [cairn, "tag", "data.bin", f"p{i}"], repo))
    _, after = ctx.cairn_json(["audit", "verify"], repo, "cairn audit verify after the appends")
    if not after.get("ok") or after.get("entries") != n + appends:
        raise BenchError(f"the log is not intact after the appends: {json.dumps(after)[:1500]}")

    section.update({
        "entries": n, "log_bytes": size,
        "verify_s": verify_s, "sha256sum_s": sha_s, "verify_vs_sha256sum": verify_s / sha_s if sha_s else None,
        "golden_tag_median_s": statistics.median(golden), "plain_tag_median_s": statistics.median(plain),
        "append_cost_s": statistics.median(golden) - statistics.median(plain),
    })
    scaled = verify_s * FULL["entries"] / n
    goals = [("audit_verify_1m", round(scaled, 3), scaled < VERIFY_GOAL_S,
              f"{verify_s:.2f} s" + ("" if n == FULL["entries"] else f" for {n:,} (x{FULL['entries'] / n:g}: "
                                                                   f"{scaled:.2f} s)"),
              f"< {VERIFY_GOAL_S:g} s")]
    return benchlib.section_end(ctx, section, goals=benchlib.goal_records("audit", goals, GOAL_DOCS))


def timed(ctx, argv, cwd):
    """Wall seconds of one command (not recorded one by one: the medians are)."""
    t0 = time.perf_counter()
    ctx.run(argv, cwd)
    return time.perf_counter() - t0


def report_lines(section):
    n = section["entries"]
    L = [f"cairn audit-log benchmark: a chain of {n:,} entries ({section['log_bytes'] / MIB:,.1f} MiB) written "
         "from the format doc with Python's hashlib."]
    L += benchlib.rows_text(["operation", "cairn s", "sha256sum s", "ratio"], [
        [f"audit verify ({n:,} entries)", f"{section['verify_s']:.3f}", f"{section['sha256sum_s']:.3f}",
         fmt_r(section["verify_s"], section["sha256sum_s"])],
    ])
    L.append("")
    L.append(f"  appends: median cairn tag --golden (one audit entry: fsync of the line, atomic HEAD) "
             f"{section['golden_tag_median_s'] * 1000:.1f} ms vs plain cairn tag {section['plain_tag_median_s'] * 1000:.1f} ms"
             f" on a log of {n:,} entries: an append costs ~{section['append_cost_s'] * 1000:.1f} ms")
    L.append("  verify re-hashes every line (SHA-256, as sha256sum does for the file), follows every prev (read "
             "with a scan), checks each body is JSON and compares with HEAD.")
    return L + benchlib.report_end(section, f"{FULL['entries']:,} entries")


USAGE = __doc__ + """
Options:
  --quick                  100 000 entries, 30 appends (same as BENCH_QUICK=1)
Environment:
  BENCH_QUICK=1            as --quick
  BENCH_AUDIT_ENTRIES=N    entries in the log (1000000; quick 100000)
  BENCH_AUDIT_APPENDS=N    golden tags (and plain tags) timed for the append cost (100; quick 30)
  BENCH_KEEP=1             keep the work directory
  CAIRN_BIN=PATH           cairn binary (default: build/cairn)
  TMPDIR=DIR               where the work directory is created (default /tmp)"""


def main(argv):
    return benchlib.standalone("audit", USAGE, make_config, run_section, report_lines, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
