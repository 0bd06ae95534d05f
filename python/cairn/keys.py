"""MLflow's rule for metric, param and tag keys, applied by the Python module
before a key reaches the library: alphanumerics, underscores, dashes,
periods, spaces and slashes, at most 250 characters, and a path that
normalises to itself ("a/./b", "../x", "/x" are refused). The library (and
so the CLI) also accepts ':' and other printable characters; a script
written for MLflow must fail here as it would under MLflow, with an
MlflowException whose error_code is INVALID_PARAMETER_VALUE."""

import posixpath
import re

from .exceptions import InvalidParameterValue

_VALID = re.compile(r"^[/\w.\- ]*$")
_MAX_KEY = 250
_checked = set()  # keys already found valid: the hot path (log_metric) checks each key once


def check_key(kind, key):
    """Returns `key` as a str; raises InvalidParameterValue when MLflow would."""
    key = str(key) if key is not None else None
    if key in _checked:
        return key
    if key is None or not _VALID.match(key):
        raise InvalidParameterValue(
            "Invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), "
            "periods (.), spaces ( ), and slashes (/)." % (kind, key))
    norm = posixpath.normpath(key)
    if not key or norm != key or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise InvalidParameterValue(
            "Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to "
            "other names when treated as such (no empty, '.' or '..' parts, no leading '/')." % (kind, key))
    if len(key) > _MAX_KEY:
        raise InvalidParameterValue("%s name '%s…' is %d characters long: at most %d are allowed"
                                    % (kind.capitalize(), key[:40], len(key), _MAX_KEY))
    _checked.add(key)
    return key


def check_keys(kind, mapping):
    """A dict of str keys (checked) to the given values."""
    return {check_key(kind, k): v for k, v in mapping.items()}
