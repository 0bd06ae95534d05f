"""cairn: experiment tracking beside your data versions.

    import cairn

    cairn.set_experiment("iris")
    with cairn.start_run(name="knn-5", params={"k": 5}) as run:
        path = cairn.use_dataset("data/iris@v1.0.0")
        cairn.log_metric("acc", 0.96)
        cairn.log_artifact("model.pkl")

    best = cairn.search_runs(filter="metrics.acc > 0.9", order_by=["metrics.acc DESC"])[0]

Inside ``cairn run -- python3 train.py`` every call attaches to that run
($CAIRN_RUN_ID); ``start_run`` then returns it and leaves ending it to
``cairn run``. Metrics are buffered and written every 100 ms; ``flush()``,
``end_run()`` and interpreter exit write what is left. Errors raise
``cairn.CairnError`` with the library's message.
"""

import atexit
import os
import sys
import threading
import time

from ._cairn import CairnError, Session

__all__ = [
    "CairnError", "Run", "set_experiment", "start_run", "end_run", "active_run", "log_param", "log_params",
    "log_metric", "log_metrics", "set_tag", "set_tags", "log_artifact", "log_artifacts", "use_dataset",
    "search_runs", "get_run", "get_metric_history", "flush", "create_experiment", "list_experiments",
]

_lock = threading.RLock()
_session = None
_experiment = os.environ.get("CAIRN_EXPERIMENT", "Default")
_stack = []  # active runs, innermost last


class Run:
    """A run as read from the store: id, status, params, metrics, tags, inputs, env …"""

    def __init__(self, d):
        self._d = d

    id = property(lambda self: self._d["id"])
    run_id = id
    name = property(lambda self: self._d["name"])
    experiment = property(lambda self: self._d["experiment"])
    status = property(lambda self: self._d["status"])
    start_time = property(lambda self: self._d["start_time"])
    end_time = property(lambda self: self._d["end_time"])
    user = property(lambda self: self._d["user"])
    exit_code = property(lambda self: self._d["exit_code"])
    params = property(lambda self: dict(self._d["params"]))
    metrics = property(lambda self: dict(self._d["metrics"]))
    tags = property(lambda self: dict(self._d["tags"]))
    inputs = property(lambda self: list(self._d["inputs"]))
    artifacts = property(lambda self: list(self._d["artifacts"]))
    env = property(lambda self: dict(self._d["env"]))

    def to_dict(self):
        return dict(self._d)

    def __repr__(self):
        return "<cairn.Run %s %s%s>" % (self.id[:8], self.status, " " + self.name if self.name else "")


class ActiveRun:
    """The run being logged to; a context manager that ends it on exit."""

    def __init__(self, run_id, owned):
        self.id = self.run_id = run_id
        self.owned = owned  # False when attached to a run 'cairn run' owns

    @property
    def info(self):
        return get_run(self.id)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (None, 0)):
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        if self.owned:
            end_run(status, _run=self)
        else:
            with _lock:
                if self in _stack:
                    _stack.remove(self)
            flush()
        return False

    def __repr__(self):
        return "<cairn.ActiveRun %s>" % self.id[:8]


def _get_session():
    global _session
    with _lock:
        if _session is None:
            _session = Session(os.environ.get("CAIRN_DIR") or os.getcwd())
        return _session


_env_cache = None


def _python_env():
    """Interpreter and installed packages; listed once per process."""
    global _env_cache
    if _env_cache is not None:
        return _env_cache
    env = {
        "python.version": "%d.%d.%d" % sys.version_info[:3],
        "python.executable": sys.executable,
        "python.implementation": sys.implementation.name,
    }
    try:
        from importlib import metadata
        for dist in metadata.distributions():
            name = dist.metadata["Name"]
            if name:
                env["python.packages." + name] = dist.version
    except Exception:  # a broken distribution must not stop a run
        pass
    _env_cache = env
    return env


def _current(create=True):
    """The innermost active run, attaching to $CAIRN_RUN_ID or starting one."""
    with _lock:
        if _stack:
            return _stack[-1]
        if not create:
            return None
        env_run = os.environ.get("CAIRN_RUN_ID")
        if env_run:
            return _attach(env_run)
        return start_run()


def _attach(run_id):
    run = ActiveRun(_get_session().resolve_run(run_id), owned=False)
    _stack.append(run)
    try:
        _get_session().set_env(run.id, _python_env())
    except CairnError:
        pass  # the run may have ended; logging will say so
    return run


def set_experiment(name):
    """Selects (creating when needed) the experiment new runs go to."""
    global _experiment
    if not name:
        raise ValueError("experiment name must not be empty")
    _experiment = str(name)
    return _experiment


def create_experiment(name):
    return _get_session().create_experiment(str(name))


def list_experiments():
    return _get_session().experiments()


def start_run(name=None, params=None, tags=None, experiment=None, inputs=None, run_id=None, nested=False):
    """Starts a run (or, inside 'cairn run', returns the run it made)."""
    with _lock:
        if run_id is not None:
            return _attach(run_id)
        env_run = os.environ.get("CAIRN_RUN_ID")
        if env_run and (not _stack or (not _stack[-1].owned and not nested)):
            # Inside 'cairn run': the run it made, attached once.
            run = _stack[-1] if _stack else _attach(env_run)
            if params:
                log_params(params)
            if tags:
                set_tags(tags)
            for ref in inputs or []:
                use_dataset(ref)
            return run
        if _stack and not nested:
            raise CairnError("run %s is already active; end it first or pass nested=True" % _stack[-1].id)
        session = _get_session()
        run_id = session.start_run(str(experiment or _experiment), str(name or ""),
                                   {str(k): _param_str(v) for k, v in (params or {}).items()},
                                   {str(k): str(v) for k, v in (tags or {}).items()},
                                   [str(r) for r in (inputs or [])])
        run = ActiveRun(run_id, owned=True)
        _stack.append(run)
    try:
        session.set_env(run_id, _python_env())
    except CairnError:
        pass
    return run


def end_run(status="FINISHED", _run=None):
    """Ends the active run (FINISHED, FAILED or KILLED) and seals it."""
    with _lock:
        run = _run or (_stack[-1] if _stack else None)
        if run is None:
            return None
        if run in _stack:
            _stack.remove(run)
        if not run.owned:
            flush()
            return None
        return Run(_get_session().end_run(run.id, status))


def active_run():
    """The active run, or None."""
    with _lock:
        if _stack:
            return _stack[-1]
        return _attach(os.environ["CAIRN_RUN_ID"]) if os.environ.get("CAIRN_RUN_ID") else None


def _param_str(v):
    return v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)


def log_param(key, value):
    _get_session().log_params(_current().id, {str(key): _param_str(value)})
    return value


def log_params(params):
    _get_session().log_params(_current().id, {str(k): _param_str(v) for k, v in params.items()})


def log_metric(key, value, step=None, timestamp=None):
    """Logs one point; buffered, written within 100 ms."""
    # The hot path: no lock (reading the last list element is atomic).
    run = _stack[-1] if _stack else _current()
    _session.log_metric(run.id, key, float(value), 0 if step is None else int(step),
                        0 if timestamp is None else int(timestamp))


def log_metrics(metrics, step=None, timestamp=None):
    run = _current()
    session = _get_session()
    s = 0 if step is None else int(step)
    ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
    for k, v in metrics.items():
        session.log_metric(run.id, str(k), float(v), s, ts)


def set_tag(key, value):
    _get_session().set_tags(_current().id, {str(key): str(value)})


def set_tags(tags):
    _get_session().set_tags(_current().id, {str(k): str(v) for k, v in tags.items()})


def log_artifact(local_path, artifact_path=None):
    """Stores a file (or directory) of the repository as an artifact of the run.

    ``artifact_path`` is the directory inside the run's artifacts (MLflow's
    meaning); the file keeps its name."""
    local_path = os.fspath(local_path)
    dest = os.path.basename(os.path.normpath(local_path))
    if artifact_path:
        dest = artifact_path.rstrip("/") + "/" + dest
    return _get_session().log_artifact(_current().id, local_path, dest)


def log_artifacts(local_dir, artifact_path=None):
    """Stores every file below a directory, under ``artifact_path``."""
    local_dir = os.fspath(local_dir)
    return _get_session().log_artifact(_current().id, local_dir, artifact_path or os.path.basename(
        os.path.normpath(local_dir)))


def use_dataset(ref):
    """Records a dataset version as an input of the run and returns a local path holding it.

    The workspace path when it holds exactly that version, else a read-only
    copy under .cairn/datasets/."""
    return _get_session().use_dataset(_current().id, str(ref))


def search_runs(experiment=None, filter=None, order_by=None, max_results=1000, experiment_names=None):
    """Runs matching ``filter`` (cairn's filter language), as Run objects."""
    names = experiment_names or ([] if experiment is None else [experiment] if isinstance(experiment, str)
                                 else list(experiment))
    if isinstance(order_by, str):
        order_by = [order_by]
    return [Run(d) for d in _get_session().search([str(n) for n in names], filter or "",
                                                 list(order_by or []), int(max_results))]


def get_run(run_id):
    return Run(_get_session().get_run(str(run_id)))


def get_metric_history(run_id, key):
    """Every point of a metric: a list of (step, value, timestamp_ms)."""
    return _get_session().metric_history(str(run_id), str(key))


def flush():
    """Writes buffered metrics now."""
    if _session is not None:
        _session.flush()


def _at_exit():
    global _session
    if _session is None:
        return
    failed = getattr(sys, "last_type", None) is not None
    while _stack:
        run = _stack[-1]
        try:
            end_run("FAILED" if failed else "FINISHED", _run=run)
        except CairnError as e:
            sys.stderr.write("cairn: error: %s\n" % e)
            _stack.remove(run) if run in _stack else None
    try:
        _session.close()
    except CairnError as e:
        sys.stderr.write("cairn: error: %s\n" % e)
    _session = None


atexit.register(_at_exit)
