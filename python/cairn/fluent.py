"""MLflow's fluent API and cairn's: the stack of active runs (start_run,
end_run, active_run; inside 'cairn run', the run it made), and logging
params, metrics, tags and dataset inputs to the active run. Runs still
active at interpreter exit are ended (FAILED after an uncaught exception)."""

import atexit
import os
import sys
import time
import warnings

from . import session as _state
from ._cairn import CairnError
from .entities import _NAME_TAG, Run, _status_name
from .experiments import _active_experiment_name, _experiment_by_id
from .keys import check_key, check_keys
from .session import _close_all, _get_session, _lock, _python_env, _stack, flush

_last_run_id = None
_PARENT_TAG, _NOTE_TAG = "mlflow.parentRunId", "mlflow.note.content"


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
        with _lock:
            active = self in _stack
        if not active:  # ended inside the block (end_run()): as in MLflow, nothing left to end
            return False
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
    _get_session().keep_alive(run.id)  # this process now logs to it: keep it alive until it ends
    if tags:
        set_tags(tags)
    return run


def _mlflow_tags(tags, description, nested):
    tags = check_keys("tag", {k: str(v) for k, v in (tags or {}).items()})
    if description:
        if _NOTE_TAG in tags:
            raise CairnError("start_run: the description is given twice (description= and the tag %s)" % _NOTE_TAG)
        tags[_NOTE_TAG] = str(description)
    if nested and _stack:
        tags[_PARENT_TAG] = _stack[-1].id
    return tags


def _parent(parent_run_id):
    """MLflow's parent_run_id: a RUNNING run, the active one when a run is active."""
    d = _get_session().get_run(str(parent_run_id))
    if d["status"] != "RUNNING":
        raise CairnError("start_run: the parent run %s has ended (%s); a parent must be RUNNING"
                         % (d["id"], d["status"]))
    if _stack and _stack[-1].id != d["id"]:
        raise CairnError("start_run: the active run %s is not the parent_run_id %s; end it first"
                         % (_stack[-1].id, d["id"]))
    return d["id"]


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, parent_run_id=None, tags=None,
              description=None, log_system_metrics=None, *, name=None, params=None, experiment=None, inputs=None):
    """Starts a run (MLflow's arguments, plus cairn's name=, params=,
    experiment= and inputs=); inside 'cairn run', returns the run it made.
    ``run_id`` resumes a RUNNING run (one made by Client.create_run). The
    tag mlflow.runName is the run's name (run_name= wins)."""
    with _lock:
        env_run = os.environ.get("CAIRN_RUN_ID")
        tags = dict(tags or {})
        tag_name = tags.pop(_NAME_TAG, None)
        parent = _parent(parent_run_id) if parent_run_id is not None else None
        nested = nested or (parent is not None and bool(_stack))
        if run_id is not None and run_id != env_run:
            if _stack and not nested:
                raise CairnError("run %s is already active; end it first or pass nested=True" % _stack[-1].id)
            run = _resume(run_id, _mlflow_tags(tags, description, nested))
            if tag_name is not None or parent is not None:
                _set_tags(run.id, dict({_NAME_TAG: tag_name} if tag_name is not None else {},
                                       **({_PARENT_TAG: parent} if parent else {})))
            return run
        if env_run and (not _stack or (not _stack[-1].owned and not nested)):
            # Inside 'cairn run': the run it made, attached once ('cairn run -n' names it).
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
        if parent is not None:
            all_tags[_PARENT_TAG] = parent
        run_name = name or run_name or tag_name or ""
        session = _get_session()
        run_id = session.start_run(str(experiment or _active_experiment_name()), str(run_name),
                                   {check_key("param", k): _param_str(v) for k, v in (params or {}).items()},
                                   all_tags, [str(r) for r in (inputs or [])], code_dir=_state._code_dir(),
                                   command=_state._command(), cwd=_state._cwd(), env=_python_env())
        run = ActiveRun(run_id, owned=True)
        _stack.append(run)
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
    _get_session().log_params(_current().id, {check_key("param", key): _param_str(value)})
    return value


def log_params(params, synchronous=None):
    _get_session().log_params(_current().id, {check_key("param", k): _param_str(v) for k, v in params.items()})


def _now_ms():
    return int(time.time() * 1000)


def _is_active(rid):
    return bool(_stack) and _stack[-1].id == rid


def log_metric(key, value, step=None, synchronous=None, timestamp=None, run_id=None):
    """Logs one point to the active run, buffered (written within 100 ms).
    A point for another run (run_id=) is written at once, so that a refusal
    (an ended run) raises here and touches nothing else."""
    # The hot path: no lock (reading the last list element is atomic).
    key = check_key("metric", key)
    if run_id is not None and not _is_active(run_id):
        _get_session().log_metrics_now(str(run_id), [(key, float(value), 0 if step is None else int(step),
                                                      _now_ms() if timestamp is None else int(timestamp))])
        return
    rid = run_id if run_id is not None else (_stack[-1] if _stack else _current()).id
    (_state._session or _get_session()).log_metric(rid, key, float(value), 0 if step is None else int(step),
                                                   0 if timestamp is None else int(timestamp))


def log_metrics(metrics, step=None, synchronous=None, run_id=None, timestamp=None):
    rid = _run_id(run_id)
    session = _get_session()
    s = 0 if step is None else int(step)
    ts = _now_ms() if timestamp is None else int(timestamp)
    points = [(check_key("metric", k), float(v), s, ts) for k, v in metrics.items()]
    if run_id is not None and not _is_active(rid):
        session.log_metrics_now(rid, points)  # another run: refused here or written
        return
    for k, v, s, ts in points:
        session.log_metric(rid, k, v, s, ts)


def _set_tags(run_id, tags):
    """Sets tags of a run; mlflow.runName renames the run instead (MLflow stores the name as that tag)."""
    tags = check_keys("tag", {k: str(v) for k, v in tags.items()})
    name = tags.pop(_NAME_TAG, None)
    session = _get_session()
    if tags:
        session.set_tags(run_id, tags)
    if name is not None:
        session.set_run_name(run_id, name)


def set_tag(key, value, synchronous=None):
    _set_tags(_current().id, {key: value})


def set_tags(tags, synchronous=None):
    _set_tags(_current().id, tags)


def use_dataset(ref):
    """Records a dataset version as an input of the run and returns a local path holding it.

    The workspace path when it holds exactly that version, else a read-only
    copy under .cairn/datasets/."""
    return _get_session().use_dataset(_current().id, str(ref))


def use_model(ref):
    """Records a registered model version as an input of the run and returns the path of its
    artifact (a file or a directory) in a read-only copy under .cairn/models/.

    ``ref``: "retriever@production", "model:retriever@3", "retriever" (latest), or MLflow's
    model URIs "models:/retriever@production" and "models:/retriever/3"."""
    return _get_session().use_model(_current().id, os.fspath(ref))


def log_input(dataset, context=None, tags=None):
    """MLflow's log_input for a cairn dataset ref ("data/raw@v1"): records it
    as an input and returns the local path (see use_dataset)."""
    if not isinstance(dataset, (str, os.PathLike)):
        raise TypeError("log_input: cairn takes a dataset ref such as 'data/raw@v1' (a %s was given); "
                        "MLflow's mlflow.data datasets are not supported" % type(dataset).__name__)
    if context or tags:
        warnings.warn("cairn records dataset inputs without context or tags", stacklevel=2)
    return use_dataset(os.fspath(dataset))


_autolog_warned = False


def autolog(*args, **kwargs):
    """MLflow's autolog: cairn has no autologging. Does nothing but warn once
    per process, so that MLflow scripts calling it run unchanged."""
    global _autolog_warned
    if not _autolog_warned:
        _autolog_warned = True
        warnings.warn("cairn has no autologging: autolog() does nothing; log with log_param and log_metric",
                      UserWarning, stacklevel=2)


def _at_exit():
    failed = getattr(sys, "last_type", None) is not None
    while _stack:
        run = _stack[-1]
        try:
            end_run("FAILED" if failed else "FINISHED", _run=run)
        except CairnError as e:
            sys.stderr.write("cairn: error: %s\n" % e)
            _stack.remove(run) if run in _stack else None
    _close_all()


atexit.register(_at_exit)
