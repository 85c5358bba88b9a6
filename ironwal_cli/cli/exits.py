"""How a command ends, without typer: one stderr line per error, the documented exit codes.

The typer app (``_app``: ``run``, ``handles_errors``) and the quick start of ``append``
(``quick_append``, which never imports typer) end commands through these, so an error reads
the same whichever way the command was started.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from .. import __version__
from ..errors import BUG_REPORT, DEBUG_ENV, EXIT_INTERNAL


def error_line(message: str) -> None:
    sys.stderr.write(f"ironwal: error: {message}\n")
    sys.stderr.flush()


def os_error_text(err: OSError) -> str:
    """An OSError as its line says it: the file, then the reason."""
    name = f"{err.filename}: " if err.filename else ""
    return f"{name}{err.strerror or err}"


def note(message: str) -> None:
    sys.stderr.write(f"ironwal: {message}\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"ironwal: warning: {message}\n")
    sys.stderr.flush()


def internal_error(err: BaseException) -> NoReturn:
    """One line naming the bug and where to report it; the traceback too under IRONWAL_DEBUG=1."""
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    where = ""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    sys.stderr.write(f"ironwal: internal error: {type(err).__name__}: {err}{where}. This is a bug in ironwal "
                     f"{__version__}: please report it to {BUG_REPORT}, with the output of the same command "
                     f"run with {DEBUG_ENV}=1\n")
    sys.stderr.flush()
    sys.exit(EXIT_INTERNAL)


def quiet_broken_pipe() -> None:
    """The reader went away (``| head``): end quietly, without Python's flush error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
