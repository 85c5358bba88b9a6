"""``ironwal tail`` and ``ironwal get``: entries to stdout, as bytes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer

from ._app import FormatOption, RootOption, app, handles_errors, quiet_broken_pipe, stream_argument, warn
from .choices import EntryFormat
from .entry_output import BatchedOutput

SEPARATORS = {"line": (b"\n", "a newline"), "null": (b"\0", "a NUL")}


def warn_on_separator(fmt: str, render: Callable[[int, list[bytes]], bytes]) -> Callable[[int, list[bytes]], bytes]:
    """``render``, warning once when an entry holds the separator of ``-F line``/``null``.

    Such an entry is still printed as it is (a person reading multi-line entries wants them),
    but what reads the output back would see several entries: the warning names the first
    one and the lossless formats. One ``in`` (memchr) over the batch's bytes per batch finds it.
    """
    if fmt not in SEPARATORS:
        return render
    sep, name = SEPARATORS[fmt]
    warned = False

    def checked(first: int, entries: list[bytes]) -> bytes:
        nonlocal warned
        out = render(first, entries)
        if not warned and sep in b"".join(entries):  # a copy and a memchr: ~5x quicker than out.count(sep)
            at = first + next(i for i, e in enumerate(entries) if sep in e)
            warn(f"entry {at} holds {name}: -F {fmt} prints it as more than one entry (lossless: -F jsonl, "
                 f"hex or base64); later ones are not reported")
            warned = True
        return out

    return checked


@app.command()
@handles_errors
def tail(
    stream: str = stream_argument(),
    root: Path = RootOption,
    lines: int | None = typer.Option(None, "-n", "--lines", min=0, metavar="N", show_default=False,
                                     help="Print the last N entries (default 10), or the last N of "
                                     "--from..--to."),
    from_id: str | None = typer.Option(None, "--from", metavar="ID|end",
                                       help="Print every entry from this id on (end: the next id, so "
                                       "only new ones, with -f)."),
    to_id: int | None = typer.Option(None, "--to", metavar="ID", min=0,
                                     help="Stop after this id (inclusive; -f stops there too)."),
    count: int | None = typer.Option(None, "--count", "-c", min=0, metavar="N",
                                     help="Stop after this many entries (printed: after --grep)."),
    grep: str | None = typer.Option(None, "--grep", "-g", metavar="REGEX",
                                    help="Print only entries this bytes regex finds (re.search)."),
    invert: bool = typer.Option(False, "-v", "--invert-match", help="With --grep: those it does not find."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep waiting for new entries until interrupted."),
    fmt: EntryFormat = FormatOption,
    allow_gaps: bool = typer.Option(False, "--allow-gaps",
                                    help="Warn about missing ids on stderr and go on, instead of failing "
                                         "(-n N then counts entries, not ids)."),
) -> None:
    """Print the last entries of STREAM (or a range with --from/--to/--count), checking every CRC.

    Damage stops the output after the last intact entry, with an error naming the file and
    offset (exit 3).
    """
    from ..errors import UsageError
    from ..ops.read import read_batches
    from .entry_output import renderer

    if invert and grep is None:
        raise UsageError("-v/--invert-match needs --grep")
    render = warn_on_separator(fmt.value, renderer(fmt.value))
    batches = read_batches(root, stream, from_id=_start(from_id), to_id=to_id,
                           last=10 if lines is None and from_id is None else lines,
                           count=None if grep is not None else count, follow=follow,
                           allow_gaps=allow_gaps, on_warning=warn)
    if grep is not None:
        from ..ops.entry_filter import compile_pattern, filter_batches

        batches = filter_batches(batches, compile_pattern(grep), invert=invert, count=count)
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


def _start(value: str | None) -> int | str | None:
    """--from: an id, or ``end``."""
    from ..errors import UsageError
    from ..ops.read import FROM_END

    if value is None or value == FROM_END:
        return value
    if not value.isdigit():  # "-3", "x", "1.5"
        raise UsageError(f"--from {value!r}: an id (0 or more) or 'end'")
    return int(value)


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
    sys.stdout.buffer.write(warn_on_separator(fmt.value, renderer(fmt.value))(entry_id, [entry]))
    sys.stdout.buffer.flush()
