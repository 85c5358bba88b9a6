"""The writer options every writing command declares the same way (append, copy): one place.

typer takes an ``Option`` object as a parameter default, and one object can serve several
commands (as ``RootOption`` does), so a flag's name, env var and help cannot drift between
them. ``sync`` is not here: each command has its own default (append: strict; copy: batch).
The lock timeout is the one of every command (``options.LockTimeoutOption``).
"""

from __future__ import annotations

from enum import StrEnum

import typer

from .. import SYNC_MODES
from .options import LockTimeoutOption  # noqa: F401  (re-exported: the writing commands take it from here)

# The writer's sync modes, as typer wants them (``async`` is a keyword: its member is ``async_``).
SyncMode = StrEnum("SyncMode", {f"{mode}_" if mode == "async" else mode: mode for mode in SYNC_MODES})

CompressOption = typer.Option(False, "--compress/--no-compress", envvar="IRONWAL_COMPRESS",
                              help="LZ4-compress batches when that makes them smaller.")
MinCompressSizeOption = typer.Option("1024", "--min-compress-size", metavar="SIZE",
                                     envvar="IRONWAL_MIN_COMPRESS_SIZE",
                                     help="Smallest raw batch that is compressed (bytes; 4k, 1MiB...).")
MaxSegmentSizeOption = typer.Option("64MiB", "--max-segment-size", metavar="SIZE", envvar="IRONWAL_MAX_SEGMENT_SIZE",
                                    help="Rotate segments at about this size (4k, 64MiB...).")
MaxEntriesOption = typer.Option("unlimited", "--max-entries-per-segment", metavar="N",
                                envvar="IRONWAL_MAX_ENTRIES_PER_SEGMENT",
                                help="Rotate segments after this many entries.")


def write_options(*, max_segment_size: str, max_entries_per_segment: str, sync: str, compress: bool,
                  min_compress_size: str, lock_timeout: float, hold_lock: bool = False, force: bool = False):
    """The ``WriteOptions`` the command line asked for, each size parsed and named on error."""
    from .. import WriteOptions  # the public API's (the writer's own options)
    from .params import parse_limit, parse_size

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
