"""Shared fixtures."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "format" / "samples"


@pytest.fixture
def fast_tmp(tmp_path: Path):
    """A scratch directory in memory (/dev/shm) when there is one: for tests that start many
    processes and whose fsyncs prove nothing (kills, races); else ``tmp_path``."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="ironwal-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty WAL root."""
    return tmp_path / "wal_data"


# ----- counts printed at the end of the run (reliability suite, issue 6) -------------------------
# A test reports a number with ``record_property("count:<what>", n)``; user properties travel
# with the test reports (also from xdist workers), so the controller can add them up here.
# A table row the same way: ``record_property("row:<table>", json.dumps({column: value}))``.
_COUNTS: dict[str, int] = {}
_ROWS: dict[str, list[dict]] = {}


def pytest_runtest_logreport(report):
    if report.when == "call":
        for name, value in report.user_properties:
            if isinstance(name, str) and name.startswith("count:"):
                _COUNTS[name[6:]] = _COUNTS.get(name[6:], 0) + int(value)
            elif isinstance(name, str) and name.startswith("row:"):
                _ROWS.setdefault(name[4:], []).append(json.loads(value))


def pytest_terminal_summary(terminalreporter):
    if _COUNTS:
        terminalreporter.write_sep("-", "reliability counts")
        for name in sorted(_COUNTS):
            terminalreporter.write_line(f"{name}: {_COUNTS[name]}")
    for table, rows in sorted(_ROWS.items()):
        columns = list(rows[0])
        rows = sorted(rows, key=lambda r: str(r[columns[0]]))
        widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
        terminalreporter.write_sep("-", table)
        for line in [dict(zip(columns, columns, strict=True)), *rows]:
            cells = (f"{str(line.get(c, '')):<{w}}" for c, w in zip(columns, widths, strict=True))
            terminalreporter.write_line("  ".join(cells).rstrip())
