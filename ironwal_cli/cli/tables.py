"""Tables for people: rich on a terminal, plain tab-separated columns when piped."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def print_table(columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    if not sys.stdout.isatty():
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join(str(v) for v in row) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(columns):
        numeric = i > 0 and all(isinstance(row[i], int | float) for row in rows)
        table.add_column(col, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)


def id_ranges(streams: dict[str, list[int]]) -> str:
    """``s=0..99 t=-``: each stream's [first, next) ids as people read them (``-``: none)."""
    return " ".join(f"{name}={a}..{b - 1}" if b > a else f"{name}=-" for name, (a, b) in streams.items()) or "-"
