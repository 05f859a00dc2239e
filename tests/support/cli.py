"""The real CLI, run as a user runs it: `fashiongan ARGS`.

By default in this process: `fashiongan.cli.main(ARGS)` with sys.argv, the working folder, the
environment, stdout/stderr and the warnings machinery set as `python -m fashiongan ARGS` would
have them, and restored afterwards. A new Python process costs about 2.4 s here (most of it
importing torch), which over the suite's few hundred CLI calls was minutes of its wall time.
`fresh=True` runs a real child process: for what only a process shows (signals, exit on a
crash, the interpreter's start-up, OpenMP's environment, a deadline that must kill)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import traceback
import warnings
from pathlib import Path

import fashiongan
from fashiongan.cli import main

MAIN = str(Path(fashiongan.__file__).with_name("__main__.py"))  # sys.argv[0] under `python -m`


def run_cli(*args, cwd=None, env=None, timeout=600, fresh=False):
    """Run `fashiongan ARGS`; returns a CompletedProcess (returncode, stdout, stderr)."""
    argv = [str(a) for a in args]
    if fresh:
        return subprocess.run([sys.executable, "-m", "fashiongan", *argv], capture_output=True,
                              text=True, cwd=cwd, timeout=timeout,
                              env={**os.environ, **(env or {})})
    out, err = io.StringIO(), io.StringIO()
    with _as_a_process(argv, cwd, env, timeout), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = _call(argv, err)
    return subprocess.CompletedProcess(["fashiongan", *argv], code, out.getvalue(),
                                       err.getvalue())


def _call(argv: list[str], err: io.StringIO) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse: --help, --version, a usage error
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:  # what the interpreter would print before exiting with 1
        err.write(traceback.format_exc())
        return 1


def like_a_terminal() -> None:
    """Popen's preexec_fn for a Ctrl-C test: SIGINT at its default, as a shell starts a
    foreground command. An ignored SIGINT is inherited, and Python then installs no
    KeyboardInterrupt for it; a test runner's worker may be started with it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Deadline(BaseException):
    """Raised in the main thread when a call outlives its timeout."""


@contextlib.contextmanager
def _as_a_process(argv, cwd, env, timeout):
    saved_argv, saved_cwd, saved_env = sys.argv, os.getcwd(), dict(os.environ)
    sys.argv = [MAIN, *argv]
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    if cwd is not None:
        os.chdir(cwd)

    def expire(signum, frame):
        raise _Deadline(f"`fashiongan {' '.join(argv)}` ran past {timeout} s")

    timed = threading.current_thread() is threading.main_thread()  # signals: main thread only
    if timed:
        old_alarm = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings():
            _fresh_warning_filters()
            warnings.showwarning = _to_stderr
            yield
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alarm)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv


def _fresh_warning_filters() -> None:
    """The filters a new interpreter starts with (each warning shown once again; deprecations
    only from __main__), in place of pytest's."""
    warnings.resetwarnings()
    for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning,
                     DeprecationWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


def _to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
