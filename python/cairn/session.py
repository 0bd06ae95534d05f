"""The process's state shared by the fluent API and the client: where runs go
(the tracking URI), the one Session per repository, the stack of active runs
and the lock guarding them; flushing, and closing every session at exit."""

import os
import sys
import threading

from ._cairn import CairnError, Session, repo_root, shell_join

_lock = threading.RLock()
_session = None
_tracking_uri = None  # as given to set_tracking_uri
_stack = []  # active runs, innermost last (fluent.ActiveRun); never rebound
_client_sessions = {}  # directory -> Session of a Client(tracking_uri=…)
# How often a Session's runs beat (ms; 0: the library's 30 s). Tests shorten
# it before the first session opens; not part of the API.
_heartbeat_interval_ms = 0

# ---- where runs go: the tracking URI ------------------------------------------------------------

_REMOTE_SCHEMES = ("http:", "https:", "databricks", "sqlite:", "postgresql:", "mysql:", "mssql:")


def _uri_dir(uri):
    """The directory a tracking URI names (a path or file: URI inside a repository)."""
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    elif uri.startswith("file:"):
        uri = uri[len("file:"):]
    path = os.path.abspath(uri)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)  # MLflow's ./mlruns need not exist: its repository is enough
    return path


def _check_uri(uri, variable=None):
    """Refuses a URI naming a server or database; `variable` names the
    environment variable it came from, for the message."""
    if str(uri).lower().startswith(_REMOTE_SCHEMES):
        if variable:
            raise CairnError("tracking URI '%s' (from the environment variable %s) is not supported: cairn records "
                             "runs in the repository's .cairn/ (unset %s, or set it to a path inside the "
                             "repository)" % (uri, variable, variable))
        raise CairnError("tracking URI '%s' is not supported: cairn records runs in the repository's .cairn/ "
                         "(pass a path inside the repository, or leave the URI unset)" % uri)


def set_tracking_uri(uri):
    """Selects the repository runs are recorded in: a path or file: URI inside
    it. None or "" goes back to the default ($CAIRN_DIR, else the cwd)."""
    global _tracking_uri, _session
    uri = os.fspath(uri) if uri is not None else None
    if uri:
        _check_uri(uri)
    with _lock:
        if _stack and _session is not None:
            raise CairnError("run %s is active; end it before changing the tracking URI" % _stack[-1].id)
        if _session is not None:
            old, _session = _session, None
            old.close()
        _tracking_uri = uri or None


def get_tracking_uri():
    """As MLflow: the URI given to set_tracking_uri, else $MLFLOW_TRACKING_URI
    as it is set (unless $CAIRN_DIR, which wins, is set); else file:// and
    the root of the repository runs go to (the directory searched from when
    no repository contains it)."""
    if _tracking_uri:
        return _tracking_uri
    if not os.environ.get("CAIRN_DIR") and os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if _session is not None:
        return "file://" + _session.root()
    base = _base_dir()
    return "file://" + (repo_root(base) or base)


def _base_dir():
    if _tracking_uri:
        return _uri_dir(_tracking_uri)
    if os.environ.get("CAIRN_DIR"):
        return os.environ["CAIRN_DIR"]
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if env_uri:
        _check_uri(env_uri, "MLFLOW_TRACKING_URI")
        return _uri_dir(env_uri)
    return os.getcwd()


def _get_session():
    global _session
    with _lock:
        if _session is None:
            _session = Session(_base_dir(), _heartbeat_interval_ms)
        return _session


def _client_session(directory):
    with _lock:
        if directory not in _client_sessions:
            _client_sessions[directory] = Session(directory, _heartbeat_interval_ms)
        return _client_sessions[directory]


def _code_dir():
    """The directory of the code that runs, whose git state a run records
    (and whose workspace inputs, when it lies in the tracking repository):
    the main script's (__main__.__file__, else sys.argv[0]), else the working
    directory (python -c, an interactive session or a notebook)."""
    main = sys.modules.get("__main__")
    argv = getattr(sys, "argv", None) or [""]
    for script in (getattr(main, "__file__", None), argv[0]):
        if script and os.path.isfile(script):
            return os.path.dirname(os.path.realpath(script))
    try:
        return os.getcwd()
    except OSError as e:
        raise CairnError("cannot tell where the code that runs is: the script is unknown and the working "
                         "directory is gone (%s)" % e)


def _command():
    """This process's command line, shell-quoted as 'cairn run' records one:
    the interpreter as invoked and its arguments (sys.orig_argv), e.g.
    ``python3 train.py --lr 0.1``; the code of ``python3 -c`` is not
    recorded, only ``<code>`` in its place."""
    argv = list(getattr(sys, "orig_argv", None) or [])
    if not argv:  # before Python 3.10, or an embedded interpreter
        argv = [os.path.basename(sys.executable or "python")] + list(getattr(sys, "argv", None) or [])
        if argv[1:2] == ["-c"]:
            argv.insert(2, "")  # sys.argv lacks the code; a placeholder for it
    if (getattr(sys, "argv", None) or [""])[0] == "-c":
        for i, word in enumerate(argv[1:], 1):
            if word == "-c" or (word.startswith("-c") and not word.startswith("--")):
                head, rest = argv[:i] + ["-c"], argv[i + 1 if word != "-c" else i + 2:]
                return " ".join(w for w in (shell_join(head), "<code>", shell_join(rest)) if w)
    return shell_join(argv)


def _cwd():
    """The working directory ("" when it is gone: the run records none)."""
    try:
        return os.getcwd()
    except OSError:
        return ""


_env_cache = None


def _python_env():
    """Interpreter and installed packages; listed once per process."""
    global _env_cache
    if _env_cache is not None:
        return _env_cache
    env = {
        "python.version": "%d.%d.%d" % sys.version_info[:3],
        "python.executable": sys.executable,
        "python.implementation": sys.implementation.name,
    }
    try:
        from importlib import metadata
        for dist in metadata.distributions():
            name = dist.metadata["Name"]
            if name:
                env["python.packages." + name] = dist.version
    except Exception:  # a broken distribution must not stop a run
        pass
    _env_cache = env
    return env


def flush():
    """Writes buffered metrics now; raises the first write error since the last flush."""
    if _session is not None:
        _session.flush()


def _after_fork_in_child():
    """A forked child has none of its parent's threads (a lock one of them held
    stays locked), so it never uses its parent's sessions: they are dropped
    without being closed (the C++ side leaves a forked copy alone) and the child
    opens its own on first use. The runs the parent made active stay the
    parent's: the child may log to them, but neither leaving their block nor
    the child's exit ends them; the child ends only the runs it starts."""
    global _session
    reinit = getattr(_lock, "_at_fork_reinit", None)  # a parent thread may have held it at the fork
    if reinit is not None:
        reinit()
    _session = None
    _client_sessions.clear()
    _paused.clear()
    for run in _stack:
        run.owned = False


_paused = []  # the sessions _before_fork paused, for the parent to resume


def _before_fork():
    """Holds every session's background writes back over a fork, so that the
    child copies no lock (SQLite's, libgit2's) one of them was holding."""
    sessions = ([_session] if _session is not None else []) + list(_client_sessions.values())
    for s in sessions:
        s._pause_for_fork()
        _paused.append(s)


def _after_fork_in_parent():
    while _paused:
        _paused.pop()._resume_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def _close_all():
    """At exit, after the active runs have ended: closes every session, printing what fails."""
    global _session
    for s in ([_session] if _session is not None else []) + list(_client_sessions.values()):
        try:
            s.close()
        except CairnError as e:
            sys.stderr.write("cairn: error: %s\n" % e)
    _session = None
