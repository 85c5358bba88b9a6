"""``ironwal inspect PATH...``: files of a root, frame by frame or record by record.

The way to look inside a damaged file: every frame or damaged region of a segment, every
record of ``checkpoints.log``, ``lost.idx`` or ``seals.idx``, or the decoded ``HEAD``,
``head.state`` or ``segments.idx``.

With ``--entries`` standard output holds only what can be parsed as one thing: in ``-F jsonl``
one JSON object per frame or damaged region (its row, its entries inside), in every other
format the entry bytes alone; the ``# offset=...`` line of each frame then goes to standard
error, so ``-F raw`` is the entries' bytes and nothing else.

Several paths (as kafka-dump-log's ``--files``) are inspected in the order given, each as one
path alone would be; every path is checked to exist before anything is printed. Where one
output holds rows of several files (``--json`` lines, ``--entries -F jsonl`` rows), each says
its ``path`` (a table gets a ``path`` column).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ._app import FormatOption, RootOption, app, handles_errors, json_option
from .choices import EntryFormat


@app.command()
@handles_errors
def inspect(
    paths: list[Path] = typer.Argument(..., metavar="PATH...",
                                       help="Segments (*.wal), checkpoints.log, HEAD, head.state, segments.idx, "
                                       "lost.idx or seals.idx; each looked up under the root when it is not "
                                       "found as given."),
    root: Path = RootOption,
    json_out: bool = json_option('one object {"path", "kind", "rows"} per PATH, one a line'),
    entries: bool = typer.Option(False, "--entries",
                                 help="Also print each intact frame's entries (segments): only entries on "
                                 "stdout, frame lines on stderr; -F jsonl: one object per frame."),
    hex_damage: bool = typer.Option(False, "--hex",
                                    help="Show the bytes of each damaged frame or region in hex (header_hex, "
                                    "payload_hex)."),
    fmt: EntryFormat = FormatOption,
) -> None:
    """Show the frames of each segment (offset, start id, count, type, sizes, CRC ok) or the records of a file."""
    from ..ops.inspect import inspect_file

    found = [_located(path, root) for path in paths]
    several = len(found) > 1
    for path in found:
        result = inspect_file(path, entries=entries, hex_damage=hex_damage)
        if several and not json_out:
            for row in result.rows:
                row["path"] = result.path
        _show(result, json_out, entries, hex_damage, fmt, several)


def _located(path: Path, root: Path) -> Path:
    """``path`` as given, else under the root; NotFoundError naming it when neither exists."""
    from ..errors import NotFoundError

    if not path.exists() and (root / path).exists():
        path = root / path
    if not path.exists():
        raise NotFoundError(f"{path}: no such file (also not under the root {root})")
    return path


def _show(result, json_out: bool, entries: bool, hex_damage: bool, fmt: EntryFormat, several: bool) -> None:
    """One file's inspection in the output asked for (a table, JSON, or its entries)."""
    if json_out:
        sys.stdout.write(json.dumps(_json_ready(result.to_dict())) + "\n")
    elif entries and result.kind == "segment" and fmt.value == "jsonl":
        sys.stdout.write("".join(json.dumps(_json_ready(row)) + "\n" for row in result.rows))
    elif entries and result.kind == "segment":
        if several:
            sys.stdout.buffer.flush()  # in step with stdout, as each frame's line
            sys.stderr.write(f"# path={result.path}\n")
        _print_with_entries(result, fmt.value, hex_damage)
    else:
        from .tables import print_table

        columns = result.columns + (["header_hex", "payload_hex"] if hex_damage and result.kind == "segment" else [])
        if several:  # a pipe gets no title: each row names its file
            columns = ["path", *columns]
        print_table(columns, [[_cell(row.get(c)) for c in columns] for row in result.rows],
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


def _json_ready(data: dict) -> dict:
    """A row, or the whole inspection, with each frame's entries as {id, len, b64, text}."""
    from .entry_output import entry_object

    for row in data.get("rows", [data]):
        if row.get("entries") is not None:
            row["entries"] = [entry_object(i, e) for i, e in enumerate(row["entries"], row["start_id"])]
    return data


def _print_with_entries(result, fmt: str, hex_damage: bool) -> None:
    """Each frame's entries on stdout in the tail format ``fmt``, nothing else; its ``# offset ...``
    line (and with ``hex_damage`` the damaged bytes) on stderr, flushed in step so a terminal
    shows them in file order."""
    from .entry_output import renderer

    render = renderer(fmt)
    out, err = sys.stdout.buffer, sys.stderr
    for row in result.rows:
        out.flush()
        fields = " ".join(f"{c}={_cell(row.get(c))}" for c in result.columns)
        err.write(f"# {fields}\n")
        if hex_damage and "payload_hex" in row:
            err.write(f"# header_hex={_cell(row['header_hex'])} payload_hex={row['payload_hex'] or '-'}\n")
        err.flush()
        if row.get("entries") is not None:
            out.write(render(row["start_id"], row["entries"]))
    out.flush()
