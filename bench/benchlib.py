"""Shared pieces of the cairn benchmark sections: bench/tracking.py, bench/remote.py, bench/chunk_sizes.py.

Environment knobs, the command runner (Ctx: log files, timing, the record of
every measurement), git helpers, section bookkeeping, goals, table and number
formatting, bench/results/ output and the main every section runs when it is
started alone.  Standard library only.
"""

import datetime
import importlib.machinery
import importlib.util
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS_DIR = os.path.join(HERE, "results")
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Configuration from the environment
# ---------------------------------------------------------------------------

def env_int(name, default):
    v = os.environ.get(name, "")
    if v == "":
        return default
    try:
        return int(v)
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not an integer")


def env_flag(name, default=False):
    v = os.environ.get(name, "")
    if v == "":
        return default
    return v != "0"


def env_ints(name, default, unit=None):
    """The comma-separated integers of $name, or a copy of default when it is unset."""
    v = os.environ.get(name, "")
    try:
        return [int(s) for s in v.split(",") if s.strip()] if v else list(default)
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not a list of integers" + (f" ({unit})" if unit else ""))


def sizes_for(quick, full, small):
    """(quick, default sizes): the `small` sizes when quick, else the `full` ones; quick=None means BENCH_QUICK."""
    if quick is None:
        quick = env_flag("BENCH_QUICK")
    return quick, (small if quick else full)


def env_parts(name, parts_all, what, parts=None):
    """The parts to run, in the order of parts_all: `parts` (--only) or $name (default: all)."""
    if parts is None:
        parts = [p.strip() for p in os.environ.get(name, ",".join(parts_all)).split(",") if p.strip()]
    for p in parts:
        if p not in parts_all:
            sys.exit(f"bench: unknown {what} part {p!r} (use {','.join(parts_all)})")
    return [p for p in parts_all if p in parts]


def is_full(cfg, full):
    """True when cfg has the full sizes: every value of `full` (of a list: every item)."""
    return all(all(x in cfg[k] for x in v) if isinstance(v, list) else cfg[k] == v for k, v in full.items())


# ---------------------------------------------------------------------------
# Running commands
# ---------------------------------------------------------------------------

class Ctx:
    """Work directory, environment and the record of every measurement."""

    def __init__(self, workdir, cairn, env, cfg):
        self.workdir = workdir
        self.cairn = cairn
        self.env = env
        self.cfg = cfg
        self.logdir = os.path.join(workdir, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        self.n = 0
        self.records = []
        self.notes = []

    def logpath(self, name):
        """A new numbered path in the log directory (no suffix)."""
        self.n += 1
        return os.path.join(self.logdir, f"{self.n:03d}-{name}")

    def run(self, argv, cwd, label=None, env=None, ok_codes=(0,)):
        """Runs argv (stdin /dev/null, stdout and stderr to log files) in its own
        process group.  With a label the command is timed: an untimed `sync`
        first, so write-back of earlier steps does not land in it, and the wall
        time is logged and recorded.  Raises BenchError on an unexpected exit
        code.  Returns (wall seconds, stdout)."""
        logpath = self.logpath(os.path.basename(argv[0]))
        if label:
            t_sync = time.perf_counter()
            os.sync()
            t_sync = time.perf_counter() - t_sync
            if t_sync >= 1:
                log(f"  (untimed sync before the next step: {t_sync:.1f} s)")
        with open(logpath + ".out", "wb") as out, open(logpath + ".err", "wb") as err:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.Popen(argv, cwd=cwd, env=env or self.env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=err, start_new_session=True)
            try:
                rc = p.wait()
            except BaseException:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
                raise
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(logpath + ".out", "rb") as f:
            stdout = f.read().decode(errors="replace")
        if rc not in ok_codes:
            with open(logpath + ".err", "rb") as f:
                tail = stdout[-1500:] + f.read()[-3000:].decode(errors="replace")
            raise BenchError(f"command failed (exit {rc}) in {cwd}: {shlex.join(argv)}\n--- output (tail) ---\n{tail}")
        if label:
            user, sys_ = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
            self.records.append({"label": label, "cmd": shlex.join(argv), "wall_s": round(wall, 6),
                                 "user_s": round(user, 3), "sys_s": round(sys_, 3)})
            log(f"  {label:<48} {wall:9.3f} s  (user {user:.2f} s, sys {sys_:.2f} s)")
        return wall, stdout

    def output(self, argv, cwd, **kw):
        """run(), returning only the command's stdout."""
        return self.run(argv, cwd, **kw)[1]

    def cairn_json(self, args, cwd, label, env=None):
        """Times `cairn ARGS --json` and returns (seconds, parsed report)."""
        wall, out = self.run([self.cairn, *args, "--json"], cwd, label=label, env=env)
        try:
            return wall, json.loads(out)
        except ValueError:
            raise BenchError(f"cairn {' '.join(args)} --json printed no JSON: {out[-800:]!r}")


def first_line(argv):
    """The first line a command prints (stdout, else stderr); None if it cannot run."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return None


def rm(path):
    if os.path.lexists(path):
        subprocess.run(["rm", "-rf", "--", path], check=False)


def git_init(ctx, repo, bare=False):
    os.makedirs(repo, exist_ok=True)
    ctx.run(["git", "init", "-q", "-b", "main", *(["--bare"] if bare else []), repo], cwd=ctx.workdir)
    if bare:
        return
    for k, v in (("user.name", "cairn bench"), ("user.email", "bench@example.invalid"),
                 ("gc.auto", "0"), ("maintenance.auto", "false"), ("commit.gpgsign", "false")):
        ctx.run(["git", "config", k, v], cwd=repo)


def cairn_repo(ctx, repo):
    """A new git repository at repo, after `cairn init`."""
    git_init(ctx, repo)
    ctx.run([ctx.cairn, "init"], cwd=repo)


# ---------------------------------------------------------------------------
# Section bookkeeping and goals
# ---------------------------------------------------------------------------

def section_start(ctx, full, drop=("keep",), **extra):
    """Notes a busy machine and starts the clock; returns the new section:
    timestamp, warm_cache, full_sizes (ctx.cfg has the sizes of `full`, see
    is_full), config (ctx.cfg without the keys in `drop`), then `extra`."""
    ctx.load_start = os.getloadavg()
    cpus = len(os.sched_getaffinity(0)) or 1
    if ctx.load_start[0] > 0.5 * cpus:
        ctx.notes.append(f"machine busy at start (load average {ctx.load_start[0]:.2f} on {cpus} CPUs); "
                         "timings may be noisy")
    ctx.started = time.time()
    return {"timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "warm_cache": True, "full_sizes": is_full(ctx.cfg, full),
            "config": {k: v for k, v in ctx.cfg.items() if k not in drop}, **extra}


def run_parts(ctx, section, name, steps):
    """Runs the steps [(part, progress message, function(ctx))] whose part is in
    ctx.cfg["parts"], in order; section[part] = what the function returns."""
    for part, msg, fn in steps:
        if part in ctx.cfg["parts"]:
            log(f"[{name}] {msg}")
            section[part] = fn(ctx)


def section_end(ctx, section, **extra):
    """Adds the notes, the measurements, `extra`, the load averages and the elapsed time; returns the section."""
    section["notes"] = ctx.notes
    section["measurements"] = ctx.records
    section.update(extra)
    section["loadavg_start"] = [round(x, 2) for x in ctx.load_start]
    section["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    section["elapsed_s"] = round(time.time() - ctx.started, 1)
    return section


def goal_records(key, goals, docs):
    """[(id, value, ok or None, shown, target)] and [(id, description)] -> the goals of section `key`."""
    out = []
    for (gid, value, ok, shown, target), (_, desc) in zip(goals, docs):
        out.append({"id": gid, "section": key, "goal": desc, "value": value, "shown": shown, "target": target,
                    "result": "SKIP" if ok is None else ("PASS" if ok else "MISS")})
    return out


def report_end(section, full_sizes=None):
    """The end of a report: the warnings (notes), then, when the section has goals,
    a blank line and the goals; full_sizes describes the sizes they are defined for."""
    lines = [f"  warning: {n}" for n in section["notes"]]
    if full_sizes is None:
        return lines
    lines += ["", "Goals" + ("" if section["full_sizes"] else f" (defined for the full sizes {full_sizes}; "
                                                              "this run is smaller)") + ":"]
    return lines + [f"  [{g['result']}] ({g['id']}) {g['goal']}: {g['shown']} (target {g['target']})"
                    for g in section["goals"]]


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

def fmt_s(x):
    return "-" if x is None else f"{x:.2f}"


def fmt_r(a, b):
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def fmt_pct(a, b, digits=2):
    return "-" if a is None or not b else f"{100 * a / b:.{digits}f}%"


def fmt_mib(b):
    return "-" if b is None else f"{b / MIB:,.1f}"


def rows_text(head, body, left=1):
    """A table as lines: the header, a rule, the rows; the first `left` columns left-aligned."""
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return [line(head), "  ".join("-" * w for w in widths)] + [line(b) for b in body]


def print_lines(lines):
    """Prints a report: a blank line, then its lines."""
    print()
    for line in lines:
        print(line)


# ---------------------------------------------------------------------------
# Results: bench/results/
# ---------------------------------------------------------------------------

def save_text(name, lines):
    """Writes lines to bench/results/NAME-YYYY-MM-DD.txt; returns the path."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}-{datetime.date.today().isoformat()}.txt")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return path


def save_section(key, section, machine, versions):
    """Puts the section into bench/results/latest.json under `key`, keeping the other sections."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    gi = os.path.join(RESULTS_DIR, ".gitignore")
    if not os.path.exists(gi):
        with open(gi, "w") as f:
            f.write("*.json\n")
    out = os.path.join(RESULTS_DIR, "latest.json")
    doc = None
    try:
        with open(out) as f:
            doc = json.load(f)
        if not isinstance(doc, dict):
            doc = None
    except (OSError, ValueError):
        pass
    kept = doc is not None
    if doc is None:
        doc = {"schema": 1, "timestamp": section["timestamp"], "warm_cache": True, "machine": machine,
               "versions": versions, "goals": []}
    section = dict(section, machine=machine, cairn_version=versions.get("cairn"))
    doc[key] = section
    doc["goals"] = [g for g in doc.get("goals", []) if g.get("section") != key] + section.get("goals", [])
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)
    return out, kept


# ---------------------------------------------------------------------------
# Standalone
# ---------------------------------------------------------------------------

def load_bench_run():
    """bench/run as a module, for its machine-description helpers."""
    sys.dont_write_bytecode = True  # no __pycache__ in bench/
    path = os.path.join(HERE, "run")
    loader = importlib.machinery.SourceFileLoader("cairn_bench_run", path)
    spec = importlib.util.spec_from_loader("cairn_bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def isolated_env(home):
    env = dict(os.environ)
    env.update({
        "HOME": home,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.path.join(home, ".gitconfig"),
        "GIT_TERMINAL_PROMPT": "0",
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "LC_ALL": "C",
    })
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def parse_args(argv, usage, parts_all):
    """--help (prints usage: returns None), --quick and, when the section has parts, --only; returns (quick, parts)."""
    quick, parts = None, None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ("-h", "--help"):
            print(usage)
            return None
        if a == "--quick":
            quick = True
        elif parts_all and a == "--only" and args:
            parts = [p.strip() for p in args.pop(0).split(",") if p.strip()]
        elif parts_all and a.startswith("--only="):
            parts = [p.strip() for p in a.split("=", 1)[1].split(",") if p.strip()]
        else:
            sys.exit(f"bench: unexpected argument {a!r} (see --help)")
    return quick, parts


def check_space(mod, cfg):
    """Exits when $TMPDIR lacks the section's space or inodes; returns (parent dir, free bytes, needed bytes)."""
    tmp_parent = os.environ.get("TMPDIR") or "/tmp"
    st = os.statvfs(tmp_parent)
    free, need = st.f_bavail * st.f_frsize, mod.disk_need(cfg)
    if free < need:
        sys.exit(f"bench: not enough free space in {tmp_parent}: {free / MIB:.0f} MiB free, need ~{need / MIB:.0f} "
                 "MiB (set TMPDIR or scale down, see --help)")
    inode_need = getattr(mod, "inode_need", None)
    if inode_need and st.f_files and st.f_favail < inode_need(cfg):
        sys.exit(f"bench: not enough free inodes in {tmp_parent}: {st.f_favail}, need ~{inode_need(cfg)}")
    return tmp_parent, free, need


def default_machine_extra(section, versions):
    return [v for v in section.get("versions", {}).values() if v]


def standalone(name, usage, make_cfg, run, report, argv, parts_all=None, tools=None,
               machine_extra=default_machine_extra, text=True, log_parts=False):
    """The main of a section run alone (bench/NAME.py): options, prerequisites,
    free space, a work directory cairn-bench-NAME.* under $TMPDIR (removed at
    the end unless BENCH_KEEP), the report with a machine line, and the section
    saved as `NAME` in bench/results/latest.json (and, with text, the report in
    bench/results/NAME-YYYY-MM-DD.txt).  tools: {name: version command} beyond
    cairn and git; machine_extra(section, versions): the machine line's extra
    items; log_parts: the parts in the work-directory log line."""
    sys.stdout.reconfigure(line_buffering=True)
    parsed = parse_args(argv, usage, parts_all)
    if parsed is None:
        return 0
    quick, parts = parsed
    cfg = make_cfg(quick, parts) if parts_all else make_cfg(quick)
    cairn_src = os.path.abspath(os.environ.get("CAIRN_BIN") or os.path.join(ROOT, "build", "cairn"))
    if not os.access(cairn_src, os.X_OK):
        sys.exit(f"bench: no cairn binary at {cairn_src} (run 'make build' or set CAIRN_BIN)")
    mod = sys.modules[run.__module__]
    problems = mod.missing_prereqs(cfg)
    if problems:
        sys.exit("bench: " + "; ".join(problems))
    tmp_parent, free, need = check_space(mod, cfg)
    workdir = tempfile.mkdtemp(prefix=f"cairn-bench-{name}.", dir=tmp_parent)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        br = load_bench_run()
        bindir = os.path.join(workdir, "bin")
        os.makedirs(bindir)
        cairn = os.path.join(bindir, "cairn")
        shutil.copy2(cairn_src, cairn)  # a rebuild during the run cannot change what is measured
        home = os.path.join(workdir, "home")
        os.makedirs(home)
        machine = br.machine_info()
        machine["fs_type"] = br.fs_type(workdir)
        versions = {"cairn": br.tool_version([cairn, "--version"]), "git": br.tool_version(["git", "--version"])}
        versions.update({k: br.tool_version(v) for k, v in (tools or {}).items()})
        log(f"work dir {workdir} ({machine['fs_type']}), {free / GIB:.1f} GiB free, need ~{need / GIB:.1f} GiB"
            + (f"; parts {','.join(cfg['parts'])}" if log_parts else ""))
        section = run(os.path.join(workdir, name), cairn, isolated_env(home), cfg)
        lines = report(section)
        lines += ["", f"machine: nproc={machine['nproc']}, cpu={machine['cpu_model']}, "
                      f"mem={(machine['mem_total_bytes'] or 0) / GIB:.1f} GiB, fs={machine['fs_type']}, "
                      f"kernel={machine['kernel']}, load={section['loadavg_start'][0]:.2f}->"
                      f"{section['loadavg_end'][0]:.2f}; "
                      + "; ".join(str(x) for x in [versions["cairn"], *machine_extra(section, versions),
                                                   f"total {section['elapsed_s']:.0f} s"])]
        print_lines(lines)
        out, kept = save_section(name, section, machine, versions)
        txt = save_text(name, lines) if text else None
        rel = lambda p: os.path.relpath(p, os.getcwd()) if p.startswith(os.getcwd()) else p  # noqa: E731
        print(f"results written to {rel(out)} (section '{name}'" + ("; other sections kept)" if kept else ")")
              + (f" and {rel(txt)}" if txt else ""))
        return 0
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if cfg["keep"]:
            log(f"work directory kept: {workdir}")
        else:
            subprocess.run(["rm", "-rf", "--", workdir])
