"""Artifacts of a run: files and directories (those outside the repository,
such as temporary files, are copied), and text, dicts and figures stored
from memory. The run is the active one unless run_id= names another."""

import io
import json
import os
import warnings

from ._cairn import CairnError
from .fluent import _run_id
from .session import _get_session


_sources = {}  # (run id, artifact path) -> what this process stored there, for the overwrite warning


def _warn_replaced(run_id, source, store):
    """Calls store() (which returns the artifact paths written) and warns,
    naming both sources, for each path the run already had: the earlier
    artifact is lost (as in MLflow, the last one logged wins)."""
    session = _get_session()
    d = session.get_run(run_id)
    before = {a["path"] for a in d.get("artifacts", [])}
    paths = store()
    for path in paths if isinstance(paths, list) else [paths]:
        key = (d["id"], path)
        if path in before:
            earlier = _sources.get(key, "an artifact logged earlier")
            warnings.warn("artifact '%s' of run %s: %s replaces %s, which is lost (log them under different "
                          "artifact paths to keep both)" % (path, d["id"][:8], source, earlier), UserWarning,
                          stacklevel=3)
        _sources[key] = source
    return paths


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
    return session.log_artifact(run_id, local_path, dest, os.getcwd())


def log_artifact(local_path, artifact_path=None, run_id=None):
    """Stores a file (or directory) as an artifact of the run: MLflow's rule,
    its base name under the directory ``artifact_path`` (eval/a.json and
    m2/a.json are both ``a.json`` without an artifact_path). Logging a
    second file to a path the run has warns: the first is replaced. Files
    outside the repository are copied."""
    local_path = os.fspath(local_path)
    rid = _run_id(run_id)
    dest = _join(artifact_path, os.path.basename(os.path.normpath(local_path)))
    return _warn_replaced(rid, "'%s'" % local_path, lambda: _log_path(rid, local_path, dest))


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    """Stores every file below a directory under ``artifact_path`` (default:
    the artifact root, as MLflow does); returns the artifact paths."""
    local_dir = os.fspath(local_dir)
    rid = _run_id(run_id)
    if not os.path.isdir(local_dir):
        raise CairnError("'%s' is not a directory" % local_dir)
    def store():
        if artifact_path and artifact_path.strip("/"):
            return _log_path(rid, local_dir, artifact_path.strip("/"))
        out = []
        for name in sorted(os.listdir(local_dir)):
            out += _log_path(rid, os.path.join(local_dir, name), name)
        return sorted(out)
    return _warn_replaced(rid, "'%s'" % local_dir, store)


def _log_bytes(run_id, artifact_file, data, source):
    rid, path = _run_id(run_id), str(artifact_file).lstrip("/")
    return _warn_replaced(rid, source, lambda: _get_session().log_artifact_bytes(rid, path, data))


def log_text(text, artifact_file, run_id=None):
    """Stores text (UTF-8) as the artifact ``artifact_file`` ("dir/notes.txt")."""
    return _log_bytes(run_id, artifact_file, str(text).encode("utf-8"), "log_text")


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
    return _log_bytes(run_id, artifact_file, text.encode("utf-8"), "log_dict")


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
    return _log_bytes(run_id, artifact_file, data, "log_figure")
