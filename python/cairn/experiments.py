"""Experiments: the one new runs go to (set_experiment, $CAIRN_EXPERIMENT,
$MLFLOW_EXPERIMENT_NAME, $MLFLOW_EXPERIMENT_ID, else Default), creating,
reading, searching, tagging and deleting them."""

import os
import warnings

from ._cairn import CairnError
from .entities import Experiment, LifecycleStage, ViewType, _view
from .session import _get_session, _lock, _stack

_experiment = os.environ.get("CAIRN_EXPERIMENT") or os.environ.get("MLFLOW_EXPERIMENT_NAME") or None


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
        # One library call, race-free: processes setting a new experiment at once all get it.
        exp = Experiment(_get_session().get_or_create_experiment(str(experiment_name)))
    if exp.lifecycle_stage == LifecycleStage.DELETED:
        raise CairnError("experiment '%s' is deleted; restore it with 'cairn experiments restore %s'"
                         % (exp.name, exp.name))
    _experiment = exp.name
    return exp


def create_experiment(name, artifact_location=None, tags=None):
    """Creates an experiment; returns its id (a string, as MLflow does)."""
    if artifact_location is not None:
        warnings.warn("cairn keeps artifacts in the repository's store: artifact_location is ignored", stacklevel=2)
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    return str(_get_session().create_experiment(str(name), tags)["id"])


def _tagged_experiment_name():
    """The experiment set_experiment_tag means: the one set (set_experiment or
    the environment), else the active run's (inside 'cairn run -e NAME' too)."""
    if _experiment or os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return _active_experiment_name()
    with _lock:
        run_id = _stack[-1].id if _stack else os.environ.get("CAIRN_RUN_ID")
    return _get_session().get_run(run_id)["experiment"] if run_id else _active_experiment_name()


def set_experiment_tag(key, value):
    """Sets a tag on the current experiment (MLflow's fluent call)."""
    set_experiment_tags({key: value})


def set_experiment_tags(tags):
    """Sets tags on the current experiment; values are stored as strings."""
    _get_session().set_experiment_tags(_tagged_experiment_name(), {str(k): str(v) for k, v in tags.items()})


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


def restore_experiment(experiment_id):
    """Brings back a deleted experiment (and so its runs in searches)."""
    _get_session().restore_experiment(_experiment_by_id(experiment_id).name)


def rename_experiment(experiment_id, new_name):
    """Renames an experiment (MlflowClient.rename_experiment); its runs follow it."""
    global _experiment
    old = _experiment_by_id(experiment_id).name
    _get_session().rename_experiment(old, str(new_name))
    if _experiment == old:
        _experiment = str(new_name)


def list_experiments():
    return _get_session().experiments()
