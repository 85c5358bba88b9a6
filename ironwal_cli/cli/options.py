"""The options and arguments several commands share, declared once so that help, defaults and
checks agree everywhere (issue 12): -r/--root, --lock-timeout, --shards, --json, --progress,
STREAM (with tab completion of the root's streams), -q/--quiet, --force (of every command that
writes); the -q/--json conflict is checked by ``params.refuse_quiet_json`` (typer-free, for the
quick start of append), re-exported here."""

from __future__ import annotations

import os

import typer

from ..errors import IronwalError
from ..ops.locking import DEFAULT_LOCK_TIMEOUT
from .choices import EntryFormat
from .entry_output import FORMAT_HELP
from .params import (
    DEFAULT_ROOT,
    DEFAULT_ROOT_TEXT,
    refuse_quiet_json,  # noqa: F401 - re-exported: the commands take it from here
)

ROOT_HELP = f"WAL root directory (default: {DEFAULT_ROOT_TEXT})."
RootOption = typer.Option(DEFAULT_ROOT, "-r", "--root", envvar="IRONWAL_ROOT", help=ROOT_HELP,
                          show_default=False, metavar="ROOT", readable=False)
# readable=False: click's own check would say "not readable" with exit 2; the command says
# "Permission denied" with exit 5, as the exit table has it.


def complete_stream(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion of STREAM: the streams of the root given so far (else IRONWAL_ROOT, else
    ./wal_data) whose name starts with what was typed; nothing when that is no WAL root."""
    root = ctx.params.get("root") or os.environ.get("IRONWAL_ROOT") or DEFAULT_ROOT
    try:
        from ..ops.listing import stream_names

        return [name for name in stream_names(root) if name.startswith(incomplete)]
    except (IronwalError, OSError):
        return []


def stream_argument(help: str = "Stream key.", required: bool = True):
    """STREAM, declared once for the commands that name one: completed from the root's streams."""
    return typer.Argument(... if required else None, metavar="STREAM", help=help, show_default=False,
                          autocompletion=complete_stream)


def _finite_seconds(value: float) -> float:
    """nan would wait for ever (every comparison with it is false), inf too: refused (exit 2) as
    the command line is read, by the lock's own rule."""
    from ..ops.locking import check_timeout

    try:
        return check_timeout(value)
    except IronwalError as err:
        raise typer.BadParameter(str(err)) from None


LOCK_TIMEOUT_HELP = "Seconds to wait for another writer's lock (a note on stderr after 1 s of waiting)."
LockTimeoutOption = typer.Option(DEFAULT_LOCK_TIMEOUT, "--lock-timeout", envvar="IRONWAL_LOCK_TIMEOUT",
                                 metavar="SECONDS", callback=_finite_seconds, help=LOCK_TIMEOUT_HELP)


FormatOption = typer.Option(EntryFormat.line, "--format", "-F", envvar="IRONWAL_FORMAT", metavar="FORMAT",
                            help=FORMAT_HELP)  # how tail, get and inspect --entries print entries


def shards_option(help: str):
    """``--shards N`` (env IRONWAL_SHARDS), declared once; each command says what it checks."""
    return typer.Option(None, "--shards", envvar="IRONWAL_SHARDS", min=1, max=65535, metavar="N", help=help)


def json_option(shape: str):
    """``--json``, declared once; ``shape`` is the one JSON shape the command prints."""
    return typer.Option(False, "--json", help=f"Print {shape}.")


QUIET_HELP = "Print nothing on stdout (errors still go to stderr); the exit status tells."
QuietOption = typer.Option(False, "-q", "--quiet", help=QUIET_HELP)  # every -q has a --json to refuse beside


def progress_option():
    """``--progress/--no-progress``: a bar with an ETA on stderr; default when stderr is a terminal."""
    return typer.Option(None, "--progress/--no-progress", envvar="IRONWAL_PROGRESS", show_default=False,
                        help="Show a progress bar with an ETA on stderr (default: when stderr is a terminal).")

FORCE_HELP = ("Write even while a process that is not ironwal (a running IronWal application) holds the stream "
              "open. DANGEROUS: its next ids are in its memory and will be given twice. Without it: exit 4.")
ForceOption = typer.Option(False, "--force", help=FORCE_HELP)
