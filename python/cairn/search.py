"""search_runs, called cairn's way (a list of Run) or MLflow's (a pandas
DataFrame with MLflow's columns, or a list with output_format="list"), and
the experiments MLflow's rules select."""

import warnings

from ._cairn import CairnError
from .entities import Run, ViewType, _view
from .experiments import _active_experiment_name, _experiment_by_id, get_experiment_by_name
from .session import _get_session

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
    if isinstance(first, bool):
        raise TypeError("search_runs: experiment_ids must be ids (str or int), not a bool")
    if isinstance(first, int) or (isinstance(first, str) and first.isdigit()):
        first = [first]  # MLflow wraps one id into a list
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
    dicts = [] if names is None else _search(_get_session(), names, text, order_by, limit, view,
                                             output_format == "list")
    if output_format == "list":
        return [Run(d) for d in dicts]
    try:  # after the search, so that a bad filter is reported as such
        import pandas
    except ImportError:
        raise ImportError("search_runs returns a pandas DataFrame, and pandas is not installed: "
                          "install it or pass output_format=\"list\" for a list of runs") from None
    return _frame(pandas, [Run(d) for d in dicts])


def _search(session, names, text, order_by, limit, view, full):
    """The library's search; its warnings (a key no run has: a misspelt
    key?) become UserWarnings, as the CLI prints them."""
    dicts, notes = session.search([str(n) for n in names], str(text), list(order_by or []), int(limit), view, full)
    for note in notes:
        warnings.warn("search_runs: " + note, UserWarning, stacklevel=3)
    return dicts


def _frame(pd, runs):
    """MLflow's search_runs DataFrame: run attributes, then metrics.*, params.*, tags.*."""
    cols = {k: [] for k in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")}
    groups = {"metrics": {}, "params": {}, "tags": {}}
    missing = {"metrics": float("nan"), "params": None, "tags": None}
    for i, run in enumerate(runs):
        info, data = run.info, run.data
        for k in ("run_id", "experiment_id", "status", "artifact_uri"):
            cols[k].append(getattr(info, k))
        cols["start_time"].append(info.start_time)
        cols["end_time"].append(info.end_time)
        for group, values in (("metrics", data.metrics), ("params", data.params), ("tags", data.tags)):
            table = groups[group]
            for key in values:
                if key not in table:
                    table[key] = [missing[group]] * i
            for key, column in table.items():
                column.append(values.get(key, missing[group]))
    for key in ("start_time", "end_time"):  # always datetime64[ns, UTC]: NaT while running, also when empty
        cols[key] = pd.Series([pd.NaT if ms is None else pd.to_datetime(ms, unit="ms", utc=True) for ms in cols[key]],
                              dtype="datetime64[ns, UTC]")
    for group, table in groups.items():
        for key, column in table.items():
            cols[group + "." + key] = column
    return pd.DataFrame(cols)
