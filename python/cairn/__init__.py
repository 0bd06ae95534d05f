"""cairn: experiment tracking beside your data versions.

    import cairn

    cairn.set_experiment("iris")
    with cairn.start_run(name="knn-5", params={"k": 5}) as run:
        path = cairn.use_dataset("data/iris@v1.0.0")
        cairn.log_metric("acc", 0.96)
        cairn.log_artifact("model.pkl")

    best = cairn.search_runs(filter="metrics.acc > 0.9", order_by=["metrics.acc DESC"])[0]

A program written for MLflow's fluent API runs after ``import cairn as mlflow``
(doc/mlflow.md lists the calls and every difference): ``set_experiment``
returns an Experiment, runs have ``.info`` and ``.data``, ``search_runs`` called
MLflow's way returns a pandas DataFrame, and ``cairn.MlflowClient`` is the client.

Inside ``cairn run -- python3 train.py`` every call attaches to that run
($CAIRN_RUN_ID); ``start_run`` then returns it and leaves ending it to
``cairn run``. Metrics are buffered and written every 100 ms; ``flush()``,
``end_run()`` and interpreter exit write what is left and raise (at exit:
print) a failed write. Errors raise ``cairn.CairnError`` (alias
``MlflowException``) with the library's message.
"""

import atexit
import io
import json
import os
import sys
import threading
import time
import types
import warnings

from ._cairn import CairnError, Session

__all__ = [
    # cairn's names
    "CairnError", "Run", "set_experiment", "start_run", "end_run", "active_run", "log_param", "log_params",
    "log_metric", "log_metrics", "set_tag", "set_tags", "log_artifact", "log_artifacts", "use_dataset",
    "search_runs", "get_run", "get_metric_history", "flush", "create_experiment", "list_experiments",
    # MLflow's names
    "MlflowException", "ActiveRun", "Experiment", "RunInfo", "RunData", "Metric", "Param", "RunTag", "ViewType",
    "RunStatus", "LifecycleStage", "FileInfo", "PagedList", "set_tracking_uri", "get_tracking_uri",
    "get_experiment", "get_experiment_by_name", "search_experiments", "delete_experiment", "last_active_run",
    "delete_run", "log_dict", "log_text", "log_figure", "log_input", "get_artifact_uri", "Client", "MlflowClient",
]

MlflowException = CairnError

_lock = threading.RLock()
_session = None
_tracking_uri = None  # as given to set_tracking_uri
_experiment = os.environ.get("CAIRN_EXPERIMENT") or os.environ.get("MLFLOW_EXPERIMENT_NAME") or None
_stack = []  # active runs, innermost last
_last_run_id = None
_PARENT_TAG, _NOTE_TAG, _NAME_TAG = "mlflow.parentRunId", "mlflow.note.content", "mlflow.runName"


# ---- entities (MLflow's mlflow.entities, learned from its documentation) ------------------

class ViewType:
    """Which runs or experiments a search returns."""
    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
    _names = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}

    @classmethod
    def from_string(cls, name):
        for k, v in cls._names.items():
            if v == str(name).upper():
                return k
        raise CairnError("unknown view type '%s' (ACTIVE_ONLY, DELETED_ONLY or ALL)" % name)

    @classmethod
    def to_string(cls, view):
        return cls._names[view]


def _view(view):
    view = ViewType.ACTIVE_ONLY if view is None else view
    view = ViewType.from_string(view) if isinstance(view, str) else view
    if view not in ViewType._names:
        raise CairnError("unknown view type %r (ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL)" % (view,))
    return view


class RunStatus:
    RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = 1, 2, 3, 4, 5
    _names = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}

    @classmethod
    def to_string(cls, status):
        return cls._names[status]

    @classmethod
    def from_string(cls, name):
        return {v: k for k, v in cls._names.items()}[str(name).upper()]

    @classmethod
    def is_terminated(cls, status):
        return status in (cls.FINISHED, cls.FAILED, cls.KILLED)

    @classmethod
    def all_status(cls):
        return list(cls._names)


def _status_name(status):
    return RunStatus.to_string(status) if isinstance(status, int) else str(status).upper()


class LifecycleStage:
    ACTIVE, DELETED = "active", "deleted"


class _Entity:
    _fields = ()

    def __iter__(self):  # MLflow entities iterate as (name, value) pairs
        return ((f, getattr(self, f)) for f in self._fields)

    def __eq__(self, other):
        return type(self) is type(other) and dict(self) == dict(other)

    def __repr__(self):
        return "<%s: %s>" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in self))


class Metric(_Entity):
    _fields = ("key", "value", "timestamp", "step")

    def __init__(self, key, value, timestamp, step):
        self.key, self.value, self.timestamp, self.step = key, value, timestamp, step


class Param(_Entity):
    _fields = ("key", "value")

    def __init__(self, key, value):
        self.key, self.value = key, value


class RunTag(Param):
    pass


class FileInfo(_Entity):
    _fields = ("path", "is_dir", "file_size")

    def __init__(self, path, is_dir, file_size):
        self.path, self.is_dir, self.file_size = path, is_dir, file_size


class PagedList(list):
    """A page of results; cairn returns everything in one page (token None)."""

    def __init__(self, items=(), token=None):
        super().__init__(items)
        self.token = token


class Experiment(_Entity):
    _fields = ("experiment_id", "name", "artifact_location", "lifecycle_stage", "tags", "creation_time",
               "last_update_time")

    def __init__(self, d):
        self.experiment_id = str(d["id"])
        self.name = d["name"]
        self.artifact_location = "mlflow-artifacts:/%s" % self.experiment_id
        self.lifecycle_stage = LifecycleStage.DELETED if d["deleted"] else LifecycleStage.ACTIVE
        self.tags = {}  # cairn keeps no experiment tags
        self.creation_time = self.last_update_time = d["created"]


def _artifact_uri(experiment_id, run_id):
    return "mlflow-artifacts:/%s/%s/artifacts" % (experiment_id, run_id)


class RunInfo(_Entity):
    _fields = ("run_id", "run_uuid", "run_name", "experiment_id", "user_id", "status", "start_time", "end_time",
               "artifact_uri", "lifecycle_stage")

    def __init__(self, d):
        self.run_id = self.run_uuid = d["id"]
        self.run_name = d["name"]
        self.experiment_id = str(d["experiment_id"])
        self.user_id = d["user"]
        self.status = d["status"]
        self.start_time, self.end_time = d["start_time"], d["end_time"]
        self.artifact_uri = _artifact_uri(self.experiment_id, self.run_id)
        self.lifecycle_stage = LifecycleStage.DELETED if d["deleted"] else LifecycleStage.ACTIVE


def _metric_values(d):
    """Latest value per key; the library's "NaN"/"Infinity"/"-Infinity" become floats."""
    return {k: float(p["value"]) for k, p in d["metrics"].items()}


class RunData(_Entity):
    _fields = ("metrics", "params", "tags")

    def __init__(self, d):
        self.metrics = _metric_values(d)
        self.params = dict(d["params"])
        self.tags = dict(d["tags"])
        if d["name"]:
            self.tags.setdefault(_NAME_TAG, d["name"])  # MLflow shows the run name as this tag


class Run:
    """A run as read from the store. cairn's view: id, status, params, metrics,
    tags, inputs, artifacts, env …; MLflow's view: .info (RunInfo) and .data
    (RunData). ``to_dict()`` is doc/json.md's run shape (metric values as floats)."""

    def __init__(self, d):
        self._d = d
        for key, point in d["metrics"].items():
            point["value"] = float(point["value"])

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
    metrics = property(lambda self: {k: p["value"] for k, p in self._d["metrics"].items()})
    tags = property(lambda self: dict(self._d["tags"]))
    inputs = property(lambda self: list(self._d.get("inputs", [])))
    artifacts = property(lambda self: list(self._d.get("artifacts", [])))
    env = property(lambda self: dict(self._d.get("env", {})))
    info = property(lambda self: RunInfo(self._d))
    data = property(lambda self: RunData(self._d))

    def to_dict(self):
        return json.loads(json.dumps(self._d))  # a deep copy

    def to_dictionary(self):
        return {"info": dict(self.info), "data": dict(self.data)}

    def __repr__(self):
        return "<cairn.Run %s %s%s>" % (self.id[:8], self.status, " " + self.name if self.name else "")


class ActiveRun:
    """The run being logged to; a context manager that ends it on exit. Its
    .info and .data are read fresh at each access."""

    def __init__(self, run_id, owned):
        self.id = self.run_id = run_id
        self.owned = owned  # False when attached to a run 'cairn run' owns

    info = property(lambda self: get_run(self.id).info)
    data = property(lambda self: get_run(self.id).data)

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


# ---- where runs go: the tracking URI ------------------------------------------------------------

_REMOTE_SCHEMES = ("http:", "https:", "databricks", "sqlite:", "postgresql:", "mysql:", "mssql:")


def _uri_dir(uri):
    """The directory a tracking URI names (a path or file: URI inside a repository)."""
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    elif uri.startswith("file:"):
        uri = uri[len("file:"):]
    path = os.path.abspath(uri)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)  # MLflow's ./mlruns need not exist: its repository is enough
    return path


def _check_uri(uri):
    if str(uri).lower().startswith(_REMOTE_SCHEMES):
        raise CairnError("tracking URI '%s' is not supported: cairn records runs in the repository's .cairn/ "
                         "(pass a path inside the repository, or leave the URI unset)" % uri)


def set_tracking_uri(uri):
    """Selects the repository runs are recorded in: a path or file: URI inside
    it. None or "" goes back to the default ($CAIRN_DIR, else the cwd)."""
    global _tracking_uri, _session
    uri = os.fspath(uri) if uri is not None else None
    if uri:
        _check_uri(uri)
    with _lock:
        if _stack and _session is not None:
            raise CairnError("run %s is active; end it before changing the tracking URI" % _stack[-1].id)
        if _session is not None:
            old, _session = _session, None
            old.close()
        _tracking_uri = uri or None


def get_tracking_uri():
    """The URI set, else file:// and the repository root (or the directory searched from)."""
    if _tracking_uri:
        return _tracking_uri
    return "file://" + (_session.root() if _session is not None else _base_dir())


def _base_dir():
    if _tracking_uri:
        return _uri_dir(_tracking_uri)
    if os.environ.get("CAIRN_DIR"):
        return os.environ["CAIRN_DIR"]
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if env_uri:
        _check_uri(env_uri)
        return _uri_dir(env_uri)
    return os.getcwd()


def _get_session():
    global _session
    with _lock:
        if _session is None:
            _session = Session(_base_dir())
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


# ---- experiments --------------------------------------------------------------------------------

def _experiments(include_deleted=True):
    return [Experiment(d) for d in _get_session().experiments(include_deleted)]


def _experiment_by_id(experiment_id):
    for e in _experiments():
        if e.experiment_id == str(experiment_id):
            return e
    raise CairnError("no experiment with id '%s' (list them with cairn.search_experiments())" % experiment_id)


def _active_experiment_name():
    if _experiment:
        return _experiment
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return _experiment_by_id(os.environ["MLFLOW_EXPERIMENT_ID"]).name
    return "Default"


def set_experiment(experiment_name=None, experiment_id=None):
    """Makes an experiment the one new runs go to, creating it (by name) when
    missing; returns it as an Experiment."""
    global _experiment
    if (experiment_name is None) == (experiment_id is None):
        raise CairnError("set_experiment: give exactly one of experiment_name and experiment_id")
    if experiment_id is not None:
        exp = _experiment_by_id(experiment_id)
    else:
        if not experiment_name:
            raise ValueError("experiment name must not be empty")
        exp = get_experiment_by_name(str(experiment_name))
        if exp is None:
            exp = Experiment(_get_session().create_experiment(str(experiment_name)))
    if exp.lifecycle_stage == LifecycleStage.DELETED:
        raise CairnError("experiment '%s' is deleted; restore it with 'cairn experiments restore %s'"
                         % (exp.name, exp.name))
    _experiment = exp.name
    return exp


def create_experiment(name, artifact_location=None, tags=None):
    """Creates an experiment; returns its id (a string, as MLflow does)."""
    if artifact_location is not None:
        warnings.warn("cairn keeps artifacts in the repository's store: artifact_location is ignored", stacklevel=2)
    if tags:
        warnings.warn("cairn keeps no experiment tags: %s not stored" % sorted(tags), stacklevel=2)
    return str(_get_session().create_experiment(str(name))["id"])


def get_experiment(experiment_id):
    return _experiment_by_id(experiment_id)


def get_experiment_by_name(name):
    """The experiment, or None when there is none of that name."""
    d = _get_session().get_experiment(str(name))
    return Experiment(d) if d is not None else None


_EXPERIMENT_ORDER = {"experiment_id": lambda e: int(e.experiment_id), "name": lambda e: e.name,
                     "creation_time": lambda e: e.creation_time, "last_update_time": lambda e: e.last_update_time}


def search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=None, filter_string=None, order_by=None):
    """Experiments as a list of Experiment, newest first unless order_by says
    otherwise (keys: experiment_id, name, creation_time, last_update_time)."""
    if filter_string:
        raise CairnError("search_experiments: filter_string is not supported yet; use get_experiment_by_name(name) "
                         "or filter the list in Python")
    view = _view(view_type)
    exps = [e for e in _experiments(view != ViewType.ACTIVE_ONLY)
            if view == ViewType.ALL or (e.lifecycle_stage == LifecycleStage.DELETED) == (view == ViewType.DELETED_ONLY)]
    keys = order_by or ["last_update_time DESC", "experiment_id DESC"]
    for spec in reversed(keys):  # stable sorts, last key first
        parts = spec.split()
        if not parts or parts[0] not in _EXPERIMENT_ORDER or len(parts) > 2 or \
                (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise CairnError("search_experiments: cannot order by '%s' (%s, optionally ASC or DESC)"
                             % (spec, ", ".join(_EXPERIMENT_ORDER)))
        exps.sort(key=_EXPERIMENT_ORDER[parts[0]], reverse=len(parts) == 2 and parts[1].upper() == "DESC")
    return exps[:max_results] if max_results is not None else exps


def delete_experiment(experiment_id):
    _get_session().delete_experiment(_experiment_by_id(experiment_id).name)


def list_experiments():
    return _get_session().experiments()


# ---- runs ----------------------------------------------------------------------------------------

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


def _run_id(run_id):
    return str(run_id) if run_id is not None else _current().id


def _attach(run_id, owned=False):
    run = ActiveRun(_get_session().resolve_run(run_id), owned=owned)
    _stack.append(run)
    try:
        _get_session().set_env(run.id, _python_env())
    except CairnError:
        pass  # the run may have ended; logging will say so
    return run


def _resume(run_id, tags):
    """MLflow's start_run(run_id=…): logs to a RUNNING run and ends it at the end."""
    d = _get_session().get_run(str(run_id))
    if d["status"] != "RUNNING":
        raise CairnError("run %s has ended (%s): cairn seals ended runs and cannot resume them; start a new run"
                         % (d["id"], d["status"]))
    run = _attach(d["id"], owned=True)
    if tags:
        set_tags(tags)
    return run


def _mlflow_tags(tags, description, nested):
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if description:
        if _NOTE_TAG in tags:
            raise CairnError("start_run: the description is given twice (description= and the tag %s)" % _NOTE_TAG)
        tags[_NOTE_TAG] = str(description)
    if nested and _stack:
        tags[_PARENT_TAG] = _stack[-1].id
    return tags


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, tags=None, description=None,
              log_system_metrics=None, *, name=None, params=None, experiment=None, inputs=None):
    """Starts a run (MLflow's arguments, plus cairn's name=, params=,
    experiment= and inputs=); inside 'cairn run', returns the run it made.
    ``run_id`` resumes a RUNNING run (one made by Client.create_run)."""
    with _lock:
        env_run = os.environ.get("CAIRN_RUN_ID")
        if run_id is not None and run_id != env_run:
            if _stack and not nested:
                raise CairnError("run %s is already active; end it first or pass nested=True" % _stack[-1].id)
            return _resume(run_id, _mlflow_tags(tags, description, nested))
        if env_run and (not _stack or (not _stack[-1].owned and not nested)):
            # Inside 'cairn run': the run it made, attached once.
            run = _stack[-1] if _stack else _attach(env_run)
            if params:
                log_params(params)
            if tags or description:
                set_tags(_mlflow_tags(tags, description, False))
            for ref in inputs or []:
                use_dataset(ref)
            return run
        if _stack and not nested:
            raise CairnError("run %s is already active; end it first or pass nested=True" % _stack[-1].id)
        if experiment is None and experiment_id is not None:
            experiment = _experiment_by_id(experiment_id).name
        all_tags = _mlflow_tags(tags, description, nested)
        session = _get_session()
        run_id = session.start_run(str(experiment or _active_experiment_name()), str(name or run_name or ""),
                                   {str(k): _param_str(v) for k, v in (params or {}).items()}, all_tags,
                                   [str(r) for r in (inputs or [])])
        run = ActiveRun(run_id, owned=True)
        _stack.append(run)
    try:
        session.set_env(run_id, _python_env())
    except CairnError:
        pass
    return run


def end_run(status="FINISHED", _run=None):
    """Ends the active run (FINISHED, FAILED or KILLED) and seals it. Raises
    when its last metrics could not be written (the run is ended all the same)."""
    global _last_run_id
    with _lock:
        run = _run or (_stack[-1] if _stack else None)
        if run is None:
            return None
        if run in _stack:
            _stack.remove(run)
        _last_run_id = run.id
        if not run.owned:
            flush()
            return None
        return Run(_get_session().end_run(run.id, _status_name(status)))


def active_run():
    """The active run, or None."""
    with _lock:
        if _stack:
            return _stack[-1]
        return _attach(os.environ["CAIRN_RUN_ID"]) if os.environ.get("CAIRN_RUN_ID") else None


def last_active_run():
    """The active run, else the last run this process ended (a Run), else None."""
    run = active_run()
    if run is not None:
        return run
    return get_run(_last_run_id) if _last_run_id else None


def get_run(run_id):
    return Run(_get_session().get_run(str(run_id)))


def delete_run(run_id):
    """Hides a run from searches (ViewType.DELETED_ONLY or ALL shows it); its data is kept."""
    _get_session().delete_run(str(run_id))


def get_metric_history(run_id, key):
    """Every point of a metric: a list of (step, value, timestamp_ms)."""
    return _get_session().metric_history(str(run_id), str(key))


def get_artifact_uri(artifact_path=None):
    run = get_run(_current().id).info
    return run.artifact_uri + ("/" + artifact_path.lstrip("/") if artifact_path else "")


# ---- logging ---------------------------------------------------------------------------------------

def _param_str(v):
    return v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)


def log_param(key, value, synchronous=None):
    _get_session().log_params(_current().id, {str(key): _param_str(value)})
    return value


def log_params(params, synchronous=None):
    _get_session().log_params(_current().id, {str(k): _param_str(v) for k, v in params.items()})


def log_metric(key, value, step=None, synchronous=None, timestamp=None, run_id=None):
    """Logs one point; buffered, written within 100 ms."""
    # The hot path: no lock (reading the last list element is atomic).
    rid = run_id if run_id is not None else (_stack[-1] if _stack else _current()).id
    (_session or _get_session()).log_metric(rid, key, float(value), 0 if step is None else int(step),
                        0 if timestamp is None else int(timestamp))


def log_metrics(metrics, step=None, synchronous=None, run_id=None, timestamp=None):
    rid = _run_id(run_id)
    session = _get_session()
    s = 0 if step is None else int(step)
    ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
    for k, v in metrics.items():
        session.log_metric(rid, str(k), float(v), s, ts)


def set_tag(key, value, synchronous=None):
    _get_session().set_tags(_current().id, {str(key): str(value)})


def set_tags(tags, synchronous=None):
    _get_session().set_tags(_current().id, {str(k): str(v) for k, v in tags.items()})


def _inside(path, root):
    path = os.path.abspath(path)
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in (root, os.path.realpath(root)))


def _join(artifact_path, name):
    return artifact_path.strip("/") + "/" + name if artifact_path and artifact_path.strip("/") else name


def _log_outside(run_id, local_path, dest):
    """Copies a file or directory from outside the repository (a temp file)."""
    session = _get_session()
    if not os.path.isdir(local_path):
        with open(local_path, "rb") as f:
            return [session.log_artifact_bytes(run_id, dest, f.read())]
    out = []
    for d, dirs, files in os.walk(local_path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(d, name)
            out += _log_outside(run_id, full, _join(dest, os.path.relpath(full, local_path).replace(os.sep, "/")))
    return out


def _log_path(run_id, local_path, dest):
    session = _get_session()
    if not _inside(local_path, session.root()):
        if not os.path.exists(local_path):
            raise CairnError("'%s' does not exist" % local_path)
        return _log_outside(run_id, local_path, dest)
    return session.log_artifact(run_id, local_path, dest)


def log_artifact(local_path, artifact_path=None, run_id=None):
    """Stores a file (or directory) as an artifact of the run, under the
    directory ``artifact_path`` (MLflow's meaning); it keeps its name. Files
    outside the repository are copied."""
    local_path = os.fspath(local_path)
    return _log_path(_run_id(run_id), local_path, _join(artifact_path, os.path.basename(os.path.normpath(local_path))))


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    """Stores every file below a directory under ``artifact_path`` (default:
    the artifact root, as MLflow does); returns the artifact paths."""
    local_dir = os.fspath(local_dir)
    rid = _run_id(run_id)
    if not os.path.isdir(local_dir):
        raise CairnError("'%s' is not a directory" % local_dir)
    if artifact_path and artifact_path.strip("/"):
        return _log_path(rid, local_dir, artifact_path.strip("/"))
    out = []
    for name in sorted(os.listdir(local_dir)):
        out += _log_path(rid, os.path.join(local_dir, name), name)
    return sorted(out)


def _log_bytes(run_id, artifact_file, data):
    return _get_session().log_artifact_bytes(_run_id(run_id), str(artifact_file).lstrip("/"), data)


def log_text(text, artifact_file, run_id=None):
    """Stores text (UTF-8) as the artifact ``artifact_file`` ("dir/notes.txt")."""
    return _log_bytes(run_id, artifact_file, str(text).encode("utf-8"))


def log_dict(dictionary, artifact_file, run_id=None):
    """Stores a dict as JSON, or as YAML when artifact_file ends in .yml/.yaml."""
    if str(artifact_file).endswith((".yml", ".yaml")):
        try:
            import yaml
        except ImportError:
            raise CairnError("log_dict: writing '%s' as YAML needs PyYAML (or name the file .json)" % artifact_file)
        text = yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False)
    else:
        text = json.dumps(dictionary, indent=2)
    return _log_bytes(run_id, artifact_file, text.encode("utf-8"))


def log_figure(figure, artifact_file, *, save_kwargs=None, run_id=None):
    """Stores a matplotlib figure (savefig, format from the extension) or a
    plotly figure (.html, or an image through to_image)."""
    ext = os.path.splitext(str(artifact_file))[1].lstrip(".").lower() or "png"
    kwargs = dict(save_kwargs or {})
    if hasattr(figure, "savefig"):
        buf = io.BytesIO()
        kwargs.setdefault("format", ext)
        figure.savefig(buf, **kwargs)
        data = buf.getvalue()
    elif hasattr(figure, "to_html") and ext == "html":
        data = figure.to_html(**kwargs).encode("utf-8")
    elif hasattr(figure, "to_image"):
        data = figure.to_image(format=ext, **kwargs)
    else:
        raise TypeError("log_figure: %s is neither a matplotlib nor a plotly figure" % type(figure).__name__)
    return _log_bytes(run_id, artifact_file, data)


def use_dataset(ref):
    """Records a dataset version as an input of the run and returns a local path holding it.

    The workspace path when it holds exactly that version, else a read-only
    copy under .cairn/datasets/."""
    return _get_session().use_dataset(_current().id, str(ref))


def log_input(dataset, context=None, tags=None):
    """MLflow's log_input for a cairn dataset ref ("data/raw@v1"): records it
    as an input and returns the local path (see use_dataset)."""
    if not isinstance(dataset, (str, os.PathLike)):
        raise TypeError("log_input: cairn takes a dataset ref such as 'data/raw@v1' (a %s was given); "
                        "MLflow's mlflow.data datasets are not supported" % type(dataset).__name__)
    if context or tags:
        warnings.warn("cairn records dataset inputs without context or tags", stacklevel=2)
    return use_dataset(os.fspath(dataset))


# ---- search ------------------------------------------------------------------------------------------

_UNSET = object()


def _is_id(x):
    return isinstance(x, int) or (isinstance(x, str) and x.isdigit())


def _names_for(experiment_ids, experiment_names, search_all):
    """Experiment names to search (MLflow's rules); None when none exist."""
    ids = list(experiment_ids or [])
    names = list(experiment_names or [])
    if ids and names:
        raise CairnError("search_runs: give experiment_ids or experiment_names, not both")
    if ids:
        return [_experiment_by_id(i).name for i in ids]
    if names:
        known = [n for n in names if get_experiment_by_name(n) is not None]
        for n in set(names) - set(known):
            warnings.warn("search_runs: no experiment named '%s'" % n, stacklevel=3)
        return known or None
    if search_all:
        return []
    name = _active_experiment_name()
    return [name] if get_experiment_by_name(name) is not None else None


def search_runs(experiment_ids=None, filter_string="", run_view_type=ViewType.ACTIVE_ONLY, max_results=None,
                order_by=None, output_format=None, search_all_experiments=False, experiment_names=None, *,
                experiment=_UNSET, filter=_UNSET):
    """Runs matching a filter (cairn's filter language, a superset of MLflow's).

    Called the cairn way (``experiment=``/``filter=``, or experiment names as
    the first argument): a list of Run, all experiments unless named, at most
    1000. Called MLflow's way: a pandas DataFrame with MLflow's columns
    (``output_format="list"`` for a list of Run), of the active experiment
    unless experiment_ids/experiment_names/search_all_experiments say
    otherwise, at most 100000."""
    first = experiment_ids
    cairn_way = experiment is not _UNSET or filter is not _UNSET or isinstance(first, str) or \
        (first is not None and not all(_is_id(x) for x in first))
    if isinstance(order_by, str):
        order_by = [order_by]
    text = filter if filter is not _UNSET and filter is not None else filter_string or ""
    if cairn_way:
        names = experiment if experiment is not _UNSET else first
        names = [] if names is None else [names] if isinstance(names, str) else list(names)
        names += list(experiment_names or [])
        output_format = output_format or "list"
        limit = 1000 if max_results is None else max_results
    else:
        names = _names_for(first, experiment_names, search_all_experiments)
        output_format = output_format or "pandas"
        limit = 100000 if max_results is None else max_results
    if output_format not in ("list", "pandas"):
        raise CairnError("search_runs: output_format must be 'pandas' or 'list', not %r" % (output_format,))
    view = _view(run_view_type) - 1  # the module's order: active, deleted, all
    dicts = [] if names is None else _get_session().search(
        [str(n) for n in names], str(text), list(order_by or []), int(limit), view, output_format == "list")
    if output_format == "list":
        return [Run(d) for d in dicts]
    try:  # after the search, so that a bad filter is reported as such
        import pandas
    except ImportError:
        raise ImportError("search_runs returns a pandas DataFrame, and pandas is not installed: "
                          "install it or pass output_format=\"list\" for a list of runs") from None
    return _frame(pandas, [Run(d) for d in dicts])


def _frame(pd, runs):
    """MLflow's search_runs DataFrame: run attributes, then metrics.*, params.*, tags.*."""
    cols = {k: [] for k in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")}
    groups = {"metrics": {}, "params": {}, "tags": {}}
    missing = {"metrics": float("nan"), "params": None, "tags": None}
    for i, run in enumerate(runs):
        info, data = run.info, run.data
        for k in ("run_id", "experiment_id", "status", "artifact_uri"):
            cols[k].append(getattr(info, k))
        cols["start_time"].append(pd.to_datetime(info.start_time, unit="ms", utc=True))
        cols["end_time"].append(pd.to_datetime(info.end_time, unit="ms", utc=True))
        for group, values in (("metrics", data.metrics), ("params", data.params), ("tags", data.tags)):
            table = groups[group]
            for key in values:
                if key not in table:
                    table[key] = [missing[group]] * i
            for key, column in table.items():
                column.append(values.get(key, missing[group]))
    for group, table in groups.items():
        for key, column in table.items():
            cols[group + "." + key] = column
    return pd.DataFrame(cols)


# ---- the client ---------------------------------------------------------------------------------------

class Client:
    """MLflow's MlflowClient: explicit run ids, no active run. Uses the
    process's tracking URI unless given one."""

    def __init__(self, tracking_uri=None, registry_uri=None):
        if tracking_uri:
            _check_uri(tracking_uri)
        self._dir = _uri_dir(tracking_uri) if tracking_uri else None

    def _s(self):
        return _get_session() if self._dir is None else _client_session(self._dir)

    def get_run(self, run_id):
        return Run(self._s().get_run(str(run_id)))

    def create_run(self, experiment_id, start_time=None, tags=None, run_name=None):
        """A new RUNNING run (not made active); end it with set_terminated."""
        if start_time is not None:
            warnings.warn("cairn sets a run's start time itself: start_time is ignored", stacklevel=2)
        name = _experiment_by_id(experiment_id).name
        tags = {str(k): str(v) for k, v in (tags or {}).items()}
        run_name = run_name or tags.pop(_NAME_TAG, "")
        return self.get_run(self._s().start_run(name, str(run_name), {}, tags, []))

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=None):
        s, run_id = self._s(), str(run_id)
        if params:
            s.log_params(run_id, {str(p.key): _param_str(p.value) for p in params})
        if tags:
            s.set_tags(run_id, {str(t.key): str(t.value) for t in tags})
        if metrics:
            now = int(time.time() * 1000)
            s.log_metrics_now(run_id, [(str(m.key), float(m.value), int(m.step or 0),
                                        int(m.timestamp) if m.timestamp else now) for m in metrics])

    def log_param(self, run_id, key, value, synchronous=None):
        self._s().log_params(str(run_id), {str(key): _param_str(value)})
        return value

    def log_metric(self, run_id, key, value, timestamp=None, step=None, synchronous=None):
        self._s().log_metric(str(run_id), str(key), float(value), int(step or 0), int(timestamp or 0))

    def set_tag(self, run_id, key, value, synchronous=None):
        self._s().set_tags(str(run_id), {str(key): str(value)})

    def set_terminated(self, run_id, status=None, end_time=None):
        if end_time is not None:
            warnings.warn("cairn sets a run's end time itself: end_time is ignored", stacklevel=2)
        self._s().end_run(str(run_id), _status_name(status or "FINISHED"))

    def delete_run(self, run_id):
        self._s().delete_run(str(run_id))

    def restore_run(self, run_id):
        self._s().restore_run(str(run_id))

    def search_runs(self, experiment_ids, filter_string="", run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000, order_by=None, page_token=None):
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)
        names = [_experiment_by_id(i).name for i in ids]
        if not names:
            return PagedList()
        dicts = self._s().search(names, str(filter_string or ""), list(order_by or []), int(max_results),
                                 _view(run_view_type) - 1, True)
        return PagedList(Run(d) for d in dicts)

    def get_metric_history(self, run_id, key):
        return [Metric(key, v, ts, step) for step, v, ts in self._s().metric_history(str(run_id), str(key))]

    def list_artifacts(self, run_id, path=None):
        """The files and directories directly under ``path`` (the root by default)."""
        prefix = path.strip("/") + "/" if path and path.strip("/") else ""
        out = {}
        for a in self.get_run(run_id).artifacts:
            if not a["path"].startswith(prefix):
                continue
            head, sep, _ = a["path"][len(prefix):].partition("/")
            out[prefix + head] = FileInfo(prefix + head, True, None) if sep else FileInfo(a["path"], False, a["size"])
        return [out[k] for k in sorted(out)]

    def log_artifact(self, run_id, local_path, artifact_path=None):
        return log_artifact(local_path, artifact_path, run_id=run_id)

    def log_artifacts(self, run_id, local_dir, artifact_path=None):
        return log_artifacts(local_dir, artifact_path, run_id=run_id)

    def log_text(self, run_id, text, artifact_file):
        return log_text(text, artifact_file, run_id=run_id)

    def log_dict(self, run_id, dictionary, artifact_file):
        return log_dict(dictionary, artifact_file, run_id=run_id)

    def log_figure(self, run_id, figure, artifact_file, *, save_kwargs=None):
        return log_figure(figure, artifact_file, save_kwargs=save_kwargs, run_id=run_id)

    create_experiment = staticmethod(create_experiment)
    get_experiment = staticmethod(get_experiment)
    get_experiment_by_name = staticmethod(get_experiment_by_name)
    search_experiments = staticmethod(search_experiments)
    delete_experiment = staticmethod(delete_experiment)


MlflowClient = Client
_client_sessions = {}


def _client_session(directory):
    with _lock:
        if directory not in _client_sessions:
            _client_sessions[directory] = Session(directory)
        return _client_sessions[directory]


# ---- flushing and exit --------------------------------------------------------------------------------

def flush():
    """Writes buffered metrics now; raises the first write error since the last flush."""
    if _session is not None:
        _session.flush()


def _at_exit():
    global _session
    failed = getattr(sys, "last_type", None) is not None
    while _stack:
        run = _stack[-1]
        try:
            end_run("FAILED" if failed else "FINISHED", _run=run)
        except CairnError as e:
            sys.stderr.write("cairn: error: %s\n" % e)
            _stack.remove(run) if run in _stack else None
    for s in ([_session] if _session is not None else []) + list(_client_sessions.values()):
        try:
            s.close()
        except CairnError as e:
            sys.stderr.write("cairn: error: %s\n" % e)
    _session = None


atexit.register(_at_exit)


# ---- MLflow's module paths: cairn.entities.ViewType, cairn.tracking.MlflowClient … -----------------

def _submodule(name, **attrs):
    module = types.ModuleType(__name__ + "." + name)
    module.__dict__.update(attrs)
    sys.modules[module.__name__] = module
    return module


entities = _submodule("entities", Experiment=Experiment, Run=Run, RunInfo=RunInfo, RunData=RunData, Metric=Metric,
                      Param=Param, RunTag=RunTag, ViewType=ViewType, RunStatus=RunStatus,
                      LifecycleStage=LifecycleStage, FileInfo=FileInfo)
tracking = _submodule("tracking", MlflowClient=Client)
client = _submodule("client", MlflowClient=Client)
exceptions = _submodule("exceptions", MlflowException=CairnError)
