"""Parsing of argument values shared by several commands.

Errors are ``UsageError``: the CLI's one error path prints them as one line, exit 2.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UsageError

# -r/--root when neither it nor IRONWAL_ROOT is given: the typer option and append's quick start share it
DEFAULT_ROOT_TEXT = "./wal_data"  # as help and man pages write it
DEFAULT_ROOT = Path(DEFAULT_ROOT_TEXT)

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str, option: str = "size") -> int:
    """``4096``, ``4k``, ``64MiB``, ``1g``: binary units, case-insensitive."""
    m = _SIZE.match(text)
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise UsageError(f"{option} {text!r}: not a size (examples: 4096, 4k, 64MiB, 1G)")
    return int(m.group(1)) * _UNITS[unit]


def parse_limit(text: str, option: str = "limit") -> int | None:
    """A positive count, or ``unlimited``."""
    if text.strip().lower() in ("unlimited", "none", ""):
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a whole number or 'unlimited'") from None
    if value < 1:
        raise UsageError(f"{option} {value}: must be at least 1")
    return value


def refuse_quiet_json(quiet: bool, json_out: bool) -> None:
    """``-q --json`` would print nothing, silently: a conflict, refused (exit 2)."""
    if quiet and json_out:
        raise UsageError("choose one of -q/--quiet and --json (with both, nothing would be printed)")


def write_options(*, max_segment_size: str, max_entries_per_segment: str, sync: str, compress: bool,
                  min_compress_size: str, lock_timeout: float, hold_lock: bool = False, force: bool = False):
    """The ``WriteOptions`` the command line asked for, each size parsed and named on error."""
    from .. import WriteOptions  # the public API's (the writer's own options)

    return WriteOptions(
        max_segment_size=parse_size(max_segment_size, "--max-segment-size"),
        max_entries_per_segment=parse_limit(max_entries_per_segment, "--max-entries-per-segment"),
        sync=sync,
        compress=compress,
        min_compress_size=parse_size(min_compress_size, "--min-compress-size"),
        lock_timeout=lock_timeout,
        hold_lock=hold_lock,
        force=force,
    )
