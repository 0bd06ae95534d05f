"""MLflow's MlflowClient (also cairn.Client): explicit run ids, no active
run; the repository of the process's tracking URI unless given another.

``cairn.client`` and ``cairn.tracking`` are the modules MLflow programs know
as ``mlflow.client`` and ``mlflow.tracking``."""

import time

from .artifacts import log_artifact, log_artifacts, log_dict, log_figure, log_text
from .entities import _NAME_TAG, FileInfo, Metric, PagedList, Run, ViewType, _status_name, _view
from .experiments import (_experiment_by_id, create_experiment, delete_experiment, get_experiment,
                          get_experiment_by_name, rename_experiment, restore_experiment, search_experiments)
from ._cairn import CairnError
from .fluent import _param_str
from .keys import check_key, check_keys
from .search import _search
from .session import (_check_uri, _client_session, _code_dir, _command, _cwd, _get_session, _python_env,
                      _uri_dir)

__all__ = ["Client", "MlflowClient"]


def _ms(t):
    """A time in ms since the epoch as MLflow passes it (None: now, as 0)."""
    if t is None:
        return 0
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError("a time is milliseconds since the epoch (an int), not %r" % (t,))
    return int(t)


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
        """A new RUNNING run (not made active), started at ``start_time`` (ms
        since the epoch; default now) and kept alive by this process until
        set_terminated or exit."""
        name = _experiment_by_id(experiment_id).name
        tags = {str(k): str(v) for k, v in (tags or {}).items()}
        run_name = run_name or tags.pop(_NAME_TAG, "")
        return self.get_run(self._s().start_run(name, str(run_name), {}, tags, [], start_time=_ms(start_time),
                                                  detached=True, code_dir=_code_dir(), command=_command(),
                                                  cwd=_cwd(), env=_python_env()))

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=None):
        s, run_id = self._s(), str(run_id)
        metrics, params, tags = list(metrics), list(params), list(tags)
        for kind, items in (("metric", metrics), ("param", params), ("tag", tags)):
            for item in items:
                check_key(kind, item.key)  # all keys before any write, as MLflow validates the batch
        if params:
            s.log_params(run_id, {str(p.key): _param_str(p.value) for p in params})
        if tags:
            self._set_tags(run_id, {str(t.key): str(t.value) for t in tags})
        if metrics:
            now = int(time.time() * 1000)
            s.log_metrics_now(run_id, [(str(m.key), float(m.value), int(m.step or 0),
                                        int(m.timestamp) if m.timestamp else now) for m in metrics])

    def log_param(self, run_id, key, value, synchronous=None):
        self._s().log_params(str(run_id), {check_key("param", key): _param_str(value)})
        return value

    def log_metric(self, run_id, key, value, timestamp=None, step=None, synchronous=None):
        """Writes the point at once (not buffered): a refusal, such as an
        ended run, raises here and affects nothing else."""
        point = (check_key("metric", key), float(value), int(step or 0),
                 int(timestamp) if timestamp else int(time.time() * 1000))
        self._s().log_metrics_now(str(run_id), [point])

    def _set_tags(self, run_id, tags):
        tags = check_keys("tag", tags)
        name = tags.pop(_NAME_TAG, None)
        if tags:
            self._s().set_tags(run_id, tags)
        if name is not None:
            self._s().set_run_name(run_id, name)

    def set_tag(self, run_id, key, value, synchronous=None):
        """Sets a tag; mlflow.runName renames the run (MLflow keeps the name as that tag)."""
        self._set_tags(str(run_id), {key: str(value)})

    def update_run(self, run_id, status=None, name=None):
        """MLflow's update_run: renames the run (name=) and, with a terminal
        status, ends it (cairn seals ended runs: a RUNNING status is
        refused, as is changing the status of an ended run)."""
        run_id = str(run_id)
        if name is not None:
            self._s().set_run_name(run_id, str(name))
        if status is not None:
            status = _status_name(status)
            if status == "RUNNING":
                if self._s().get_run(run_id)["status"] == "RUNNING":
                    return
                raise CairnError("update_run: run %s has ended; cairn seals ended runs and cannot set them "
                                 "RUNNING again" % run_id)
            self._s().end_run(run_id, status)

    def set_terminated(self, run_id, status=None, end_time=None):
        """Ends and seals a run, at ``end_time`` (ms since the epoch; default now)."""
        self._s().end_run(str(run_id), _status_name(status or "FINISHED"), end_time=_ms(end_time))

    def set_experiment_tag(self, experiment_id, key, value):
        self._s().set_experiment_tags(_experiment_by_id(experiment_id).name, {str(key): str(value)})

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
        dicts = _search(self._s(), names, filter_string or "", order_by, max_results, _view(run_view_type) - 1, True)
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
    restore_experiment = staticmethod(restore_experiment)
    rename_experiment = staticmethod(rename_experiment)


MlflowClient = Client
