"""``ironwal tail`` and ``ironwal get``: entries to stdout, as bytes."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors, quiet_broken_pipe, stream_argument, warn
from .choices import EntryFormat
from .entry_output import FORMAT_HELP, BatchedOutput

FormatOption = typer.Option(EntryFormat.line, "--format", "-F", envvar="IRONWAL_FORMAT", metavar="FORMAT",
                            help=FORMAT_HELP)


@app.command()
@handles_errors
def tail(
    stream: str = stream_argument(),
    root: Path = RootOption,
    lines: int = typer.Option(10, "-n", "--lines", min=0, metavar="N", help="Print the last N entries."),
    from_id: int | None = typer.Option(None, "--from", min=0, metavar="ID", help="Print every entry from this id on."),
    count: int | None = typer.Option(None, "--count", "-c", min=0, metavar="N", help="Stop after this many entries."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep waiting for new entries until interrupted."),
    fmt: EntryFormat = FormatOption,
    allow_gaps: bool = typer.Option(False, "--allow-gaps",
                                    help="Warn about missing ids on stderr and go on, instead of failing "
                                         "(-n N then counts entries, not ids)."),
) -> None:
    """Print the last entries of STREAM (or a range with --from/--count), checking every CRC.

    Damage stops the output after the last intact entry, with an error naming the file and
    offset (exit 3).
    """
    from ..ops.read import read_batches
    from .entry_output import renderer

    render = renderer(fmt.value)
    batches = read_batches(root, stream, from_id=from_id, last=lines, count=count, follow=follow,
                           allow_gaps=allow_gaps, on_warning=warn)
    out = BatchedOutput(sys.stdout.buffer, hold=not follow)
    try:
        try:
            for first, entries in batches:
                out.write(render(first, entries))
        finally:
            out.flush()  # entries read before damage (or ^C) are printed before the error
    except KeyboardInterrupt:
        if not follow:
            raise
    except BrokenPipeError:
        quiet_broken_pipe()


@app.command()
@handles_errors
def get(
    stream: str = stream_argument(),
    entry_id: int = typer.Argument(..., metavar="ID", min=0, help="Entry id."),
    root: Path = RootOption,
    fmt: EntryFormat = FormatOption,
) -> None:
    """Print the entry ID of STREAM; exit 6 when it does not exist (or was pruned, or recorded lost)."""
    from ..ops.read import get_entry
    from .entry_output import renderer

    entry = get_entry(root, stream, entry_id)
    sys.stdout.buffer.write(renderer(fmt.value)(entry_id, [entry]))
    sys.stdout.buffer.flush()
