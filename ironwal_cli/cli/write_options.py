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
from .params import write_options  # noqa: F401  (re-exported; typer-free there, for the quick start of append)

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
