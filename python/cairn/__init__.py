"""cairn: experiment tracking beside your data versions.

    import cairn

    cairn.set_experiment("iris")
    with cairn.start_run(name="knn-5", params={"k": 5}) as run:
        path = cairn.use_dataset("data/iris@v1.0.0")
        base = cairn.use_model("embedder@production")   # a registered model's artifact
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

# The package, by concept:
#   entities.py     Run, RunInfo, RunData, Experiment, Metric … and ViewType, RunStatus (mlflow.entities)
#   session.py      the tracking URI, one Session per repository, the active-run stack, flush and exit
#   experiments.py  the experiment new runs go to; creating, reading, searching experiments
#   fluent.py       start_run/end_run/active_run and logging params, metrics, tags, inputs
#   artifacts.py    log_artifact(s), log_text, log_dict, log_figure
#   search.py       search_runs: a list of Run or MLflow's DataFrame
#   client.py       Client = MlflowClient (also cairn.tracking.MlflowClient)
#   exceptions.py   MlflowException = CairnError (mlflow.exceptions)
#   data.py         row diff, delta, profile, validation and drift of tables (cairn.data)

from ._cairn import CairnError
from . import client, data, entities, exceptions, tracking
from .artifacts import log_artifact, log_artifacts, log_dict, log_figure, log_text
from .client import Client, MlflowClient
from .entities import (Experiment, FileInfo, LifecycleStage, Metric, PagedList, Param, Run, RunData, RunInfo,
                       RunStatus, RunTag, ViewType)
from .exceptions import MlflowException
from .experiments import (create_experiment, delete_experiment, get_experiment, get_experiment_by_name,
                          list_experiments, rename_experiment, restore_experiment, search_experiments, set_experiment,
                          set_experiment_tag, set_experiment_tags)
from .fluent import (ActiveRun, active_run, autolog, delete_run, end_run, get_artifact_uri, get_metric_history, get_run,
                     last_active_run, log_input, log_metric, log_metrics, log_param, log_params, set_tag, set_tags,
                     start_run, use_dataset, use_model)
from .search import search_runs
from .session import flush, get_tracking_uri, set_tracking_uri

from ._cairn import __version__  # cairn's version, as `cairn --version` prints it

__all__ = [
    # cairn's names
    "CairnError", "Run", "set_experiment", "start_run", "end_run", "active_run", "log_param", "log_params",
    "log_metric", "log_metrics", "set_tag", "set_tags", "log_artifact", "log_artifacts", "use_dataset", "use_model",
    "search_runs", "get_run", "get_metric_history", "flush", "create_experiment", "list_experiments",
    # MLflow's names
    "MlflowException", "ActiveRun", "Experiment", "RunInfo", "RunData", "Metric", "Param", "RunTag", "ViewType",
    "RunStatus", "LifecycleStage", "FileInfo", "PagedList", "set_tracking_uri", "get_tracking_uri",
    "get_experiment", "get_experiment_by_name", "search_experiments", "delete_experiment", "last_active_run",
    "restore_experiment", "delete_run", "log_dict", "log_text", "log_figure", "log_input", "get_artifact_uri",
    "Client", "MlflowClient", "set_experiment_tag", "set_experiment_tags", "autolog",
]
