"""Artifacts of a run: files and directories (those outside the repository,
such as temporary files, are copied), and text, dicts and figures stored
from memory. The run is the active one unless run_id= names another."""

import io
import json
import os

from ._cairn import CairnError
from .fluent import _run_id
from .session import _get_session


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
