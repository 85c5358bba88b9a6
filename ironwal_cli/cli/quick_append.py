"""The quick start of ``ironwal append``: a plain command line read without typer.

Importing typer and building a command costs several times what the rest of a bulk append's
start does (python -X importtime), and scripts start ``ironwal append`` in loops and pipelines.
This reads the common command lines itself: STREAM and VALUEs, -r/--root, -q/--quiet, --json,
--sync, --batch, --linger, --hold-lock and --force, and the routed appends to a sharded root
(-K/--key-separator and --shards; --key is typer's), in any order, each as click reads it (the
last of a repeated option wins; ``--opt=value`` too). Anything else (``--help``, another option,
``--``, a value that click would refuse, any ``IRONWAL_*`` variable but IRONWAL_ROOT and
IRONWAL_DEBUG) is left to typer, so help, errors and every other option behave exactly as
before: this only decides sooner. What the command then does is ``append_run.run_append``, the
same for both (tests compare this reading with click's on many command lines).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .params import DEFAULT_ROOT

FLAGS = {"-q": "quiet", "--quiet": "quiet", "--json": "json_out", "--hold-lock": "hold_lock", "--force": "force"}
VALUED = {"-r": "root", "--root": "root", "--sync": "sync", "--batch": "batch", "--linger": "linger",
          "-K": "key_sep", "--key-separator": "key_sep", "--shards": "shards"}
TEXT = ("key_sep",)  # taken as given: click's str type refuses nothing
RANGES = {"batch": (1, None), "linger": (0, None), "shards": (1, 65535)}  # min=/max= of the declared options
UNREAD_ENV_OK = ("IRONWAL_ROOT", "IRONWAL_DEBUG")  # the one this reads, and one that is no option


def defaults() -> dict:
    """Every parameter of ``run_append`` as ``ironwal append`` declares its default."""
    from ..ops.locking import DEFAULT_LOCK_TIMEOUT

    return {"stream": None, "values": None, "root": DEFAULT_ROOT, "input_format": None, "null": False,
            "whole": False, "expect_ids": False, "batch": 1000, "linger": 50, "sync": "strict", "compress": False,
            "min_compress_size": "1024", "max_segment_size": "64MiB", "max_entries_per_segment": "unlimited",
            "lock_timeout": DEFAULT_LOCK_TIMEOUT, "hold_lock": False, "quiet": False, "json_out": False,
            "key": None, "key_sep": None, "shards": None, "force": False}


def parse(args: list[str], environ=os.environ) -> dict | None:
    """The parameters of ``run_append`` for ``args`` (after ``append``), or None: typer's to read."""
    if any(name.startswith("IRONWAL_") and name not in UNREAD_ENV_OK for name in environ):
        return None
    params = defaults()
    env_root = environ.get("IRONWAL_ROOT")
    if env_root is not None:
        if not env_root:
            return None
        params["root"] = Path(env_root)
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        if arg in FLAGS:
            params[FLAGS[arg]] = True
            continue
        name, eq, value = arg.partition("=")
        if name not in VALUED or (eq and not name.startswith("--")):
            return None
        if not eq:
            if i == len(args):
                return None
            value = args[i]
            i += 1
        if not _take(params, VALUED[name], value):
            return None
    if not positional and params["key_sep"] is None:
        return None  # bare `ironwal append`: typer says what it says
    params["stream"] = positional[0] if positional else None
    params["values"] = positional[1:] or None
    return params


def _take(params: dict, key: str, value: str) -> bool:
    """Store one option's value as click converts it; False where click would refuse it."""
    if key in TEXT:
        params[key] = value
    elif key == "root":
        if not value:
            return False
        params[key] = Path(value)
    elif key == "sync":
        from .. import SYNC_MODES  # the writer's own names (the append imports the writer anyway)

        if value not in SYNC_MODES:
            return False
        params[key] = value
    else:
        try:
            number = int(value)
        except ValueError:
            return False
        low, high = RANGES[key]
        if number < low or (high is not None and number > high):
            return False
        params[key] = number
    return True


def run_quick(args: list[str]) -> None:
    """Run ``ironwal append args`` and exit, when ``parse`` reads them; else return (typer runs)."""
    params = parse(args)
    if params is None:
        return
    from ..errors import EXIT_IO, IronwalError
    from ..ops.locking import tell_lock_waits
    from .append_run import run_append
    from .exits import error_line, internal_error, note, os_error_text, quiet_broken_pipe

    tell_lock_waits(note)  # as handles_errors does for every typer command
    try:
        run_append(**params)
    except KeyboardInterrupt:
        sys.exit(130)
    except IronwalError as err:
        error_line(str(err))
        sys.exit(err.exit_code)
    except BrokenPipeError:
        quiet_broken_pipe()
        sys.exit(0)
    except OSError as err:
        error_line(os_error_text(err))
        sys.exit(EXIT_IO)
    except Exception as err:  # a bug: said as one, as the typer path says it (cli._app.run)
        internal_error(err)
    sys.exit(0)
