"""``ironwal inspect PATH``: one file of a root, frame by frame or record by record.

The way to look inside a damaged file: every frame or damaged region of a segment, every
record of ``checkpoints.log``, or the decoded ``HEAD``, ``head.state`` or ``segments.idx``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors
from .choices import EntryFormat
from .read import FormatOption


@app.command()
@handles_errors
def inspect(
    path: Path = typer.Argument(..., metavar="PATH",
                                help="A segment (*.wal), checkpoints.log, HEAD, head.state or segments.idx; "
                                "looked up under the root when it is not found as given."),
    root: Path = RootOption,
    json_out: bool = typer.Option(False, "--json", help='Print one object {"path", "kind", "rows"}.'),
    entries: bool = typer.Option(False, "--entries", help="Also print each intact frame's entries (segments)."),
    fmt: EntryFormat = FormatOption,
) -> None:
    """Show the frames of a segment (offset, start id, count, type, sizes, CRC ok) or the records of a file."""
    from ..errors import NotFoundError
    from ..ops.inspect import inspect_file

    if not path.exists() and (root / path).exists():
        path = root / path
    if not path.exists():
        raise NotFoundError(f"{path}: no such file (also not under the root {root})")
    result = inspect_file(path, entries=entries)
    if json_out:
        _print_json(result)
    elif entries and result.kind == "segment":
        _print_with_entries(result, fmt.value)
    else:
        from .tables import print_table

        print_table(result.columns, [[_cell(row.get(c)) for c in result.columns] for row in result.rows],
                    title=f"{result.path} ({result.kind})")


def _cell(value) -> str:
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "NO"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


def _print_json(result) -> None:
    import json

    from .entry_output import entry_object

    data = result.to_dict()
    for row in data["rows"]:
        if row.get("entries") is not None:
            row["entries"] = [entry_object(i, e) for i, e in enumerate(row["entries"], row["start_id"])]
    sys.stdout.write(json.dumps(data) + "\n")


def _print_with_entries(result, fmt: str) -> None:
    """A line per frame (``# offset ...``), then its entries in the tail format ``fmt``."""
    from .entry_output import renderer

    render = renderer(fmt)
    out = sys.stdout.buffer
    for row in result.rows:
        fields = " ".join(f"{c}={_cell(row.get(c))}" for c in result.columns)
        out.write(f"# {fields}\n".encode())
        if row.get("entries") is not None:
            out.write(render(row["start_id"], row["entries"]))
    out.flush()
