"""MLflow's entities (mlflow.entities, learned from its documentation) over
cairn's run and experiment dicts: Run (also cairn's own view of a run),
RunInfo, RunData, Experiment, Metric, Param, RunTag, FileInfo, PagedList and
the enumerations ViewType, RunStatus and LifecycleStage.

``cairn.entities`` is the module MLflow programs know as ``mlflow.entities``."""

import json

from ._cairn import CairnError

__all__ = ["Experiment", "Run", "RunInfo", "RunData", "Metric", "Param", "RunTag", "ViewType", "RunStatus",
           "LifecycleStage", "FileInfo"]

_NAME_TAG = "mlflow.runName"

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
        self.tags = dict(d.get("tags") or {})
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
