"""What changed in the data, what it looks like, whether it meets its
expectations and whether it drifted: the library behind ``cairn diff --rows``,
``cairn delta``, ``cairn profile``, ``cairn validate`` and ``cairn drift``.

    import cairn.data

    d = cairn.data.diff_rows("data/clinic@v1", "data/clinic@v2", key="id")
    d["tables"][0]["rows"]["modified"]            # counts, schema changes, changed cells
    p = cairn.data.profile("data/clinic@v2")       # stored once computed, like the CLI's
    v = cairn.data.validate("data/clinic@v2", "suites/clinic.yaml")
    v["success"]
    cairn.data.drift("data/clinic@v1", "cohort2.csv")["drifted"]

Each returns the dict the command prints with ``--json`` (doc/json.md,
"Data"). Refs are dataset refs (NAME, NAME@TAG, NAME@OID) or paths in the
workspace; the repository is the one runs go to (``set_tracking_uri``,
$CAIRN_DIR, else the current directory) unless ``repo`` names another
directory in it. Errors raise ``cairn.CairnError`` with the library's message.
"""

import numbers
import os

from . import _cairn
from . import session as _session


def _text(value, what):
    """A ref or path argument: str or os.PathLike (not bytes, not None), without NUL."""
    if value is None or isinstance(value, (bytes, bytearray)):
        raise _cairn.CairnError("%s must be a str or a path, not %r" % (what, value))
    text = os.fspath(value)
    if not isinstance(text, str):
        raise _cairn.CairnError("%s must be a str or a path, not %r" % (what, value))
    if "\0" in text:
        raise _cairn.CairnError("%s holds a NUL character" % what)
    return text


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's numbers too
        raise _cairn.CairnError("%s must be a number, not %r" % (what, value))
    try:
        return float(value)
    except OverflowError:
        raise _cairn.CairnError("%s is too large" % what) from None


def _whole(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _cairn.CairnError("%s must be a whole number, not %r" % (what, value))
    value = int(value)
    if not -2**63 <= value < 2**63:
        raise _cairn.CairnError("%s is too large" % what)
    return value


def _flag(value, what):
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy.bool_
        return bool(value)
    raise _cairn.CairnError("%s must be True or False, not %r" % (what, value))


def _repo(repo):
    return _text(repo, "repo") if repo is not None else _session._base_dir()


def _names(value, what):
    """A column list: a str (comma-separated, as the CLI takes it) or a list of str."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v] if value else []
    if isinstance(value, (bytes, bytearray)):
        raise _cairn.CairnError("%s must be a str or a list of str, not %r" % (what, value))
    names = list(value)
    for v in names:
        if not isinstance(v, str):
            raise _cairn.CairnError("%s must be a str or a list of str, not %r" % (what, v))
        if "\0" in v:
            raise _cairn.CairnError("%s holds a NUL character" % what)
    return names


def diff_rows(from_ref, to_ref=None, key=None, columns=None, tolerance=0.0, limit=20, stat=False, repo=None):
    """Row-level diff of the tables of two versions, or of a version and its
    dataset in the workspace (``to_ref`` None): ``cairn diff --rows``. With
    ``key`` (a column or a list), modified rows list each changed cell;
    without, rows compare as a multiset. ``tolerance``: numbers closer than it
    are equal (needs a key). ``limit``: changed rows listed per table;
    ``stat``: counts only."""
    return _cairn.diff_rows(_repo(repo), _text(from_ref, "from_ref"), None if to_ref is None else _text(to_ref, "to_ref"),
                            _names(key, "key"), _names(columns, "columns"), _number(tolerance, "tolerance"),
                            _whole(limit, "limit"), _flag(stat, "stat"))


def delta(a, b, key=None, limit=20, stat=False, files_only=False, repo=None):
    """What changed in the data behind two runs, model versions
    (``model:NAME@3``) or dataset refs: ``cairn delta``. Each side's input
    versions are found upstream through lineage and paired by dataset."""
    return _cairn.delta(_repo(repo), _text(a, "a"), _text(b, "b"), _names(key, "key"), _whole(limit, "limit"),
                        _flag(stat, "stat"), _flag(files_only, "files_only"))


def profile(ref, columns=None, repo=None):
    """The profile of each table ``ref`` names: ``cairn profile``. Computed
    once per file content and stored beside the data."""
    return _cairn.profile(_repo(repo), _text(ref, "ref"), _names(columns, "columns"))


def validate(ref, suite, store=True, repo=None):
    """Validates the tables of ``ref`` against an expectation suite file
    (YAML, Great Expectations' names): ``cairn validate``. The result's
    ``success`` is False when an expectation failed; ``store=False`` keeps it
    from being stored beside the data."""
    return _cairn.validate(_repo(repo), _text(ref, "ref"), _text(suite, "suite"), _flag(store, "store"))


def drift(reference, current, method="auto", columns=None, threshold=None, share=0.5, repo=None):
    """Whether ``current`` drifted from ``reference``: ``cairn drift``.
    ``method``: auto (Evidently's defaults), ks, chi2, z, psi, wasserstein or
    jensenshannon; ``threshold`` overrides the method's; the dataset drifts
    when at least ``share`` of the compared columns did."""
    return _cairn.drift(_repo(repo), _text(reference, "reference"), _text(current, "current"), _text(method, "method"),
                        _names(columns, "columns"), None if threshold is None else _number(threshold, "threshold"),
                        _number(share, "share"))
