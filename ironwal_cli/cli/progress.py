"""The progress bar of the long commands (``verify``, ``recover``): on stderr, with an ETA.

Shown by default only when stderr is a terminal (a log or a pipe gets no control codes);
``--progress`` forces it, ``--no-progress`` (or IRONWAL_PROGRESS=0) turns it off. The work
reports ``(done, total)`` in bytes of segments; the bar shows bytes, speed and time left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Report = Callable[[int, int], None]


def wanted(flag: bool | None, quiet: bool = False) -> bool:
    """``--progress``/``--no-progress`` when given, else whether stderr is a terminal (never with -q)."""
    if flag is not None:
        return flag
    return not quiet and sys.stderr.isatty()


def with_progress(label: str, run: Callable[[Report], T]) -> T:
    """``run(report)`` under a bar labelled ``label``; the bar is gone when it ends."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    console = Console(stderr=True, force_terminal=True) if not sys.stderr.isatty() else Console(stderr=True)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        return run(lambda done, total: bar.update(task, completed=done, total=total))
