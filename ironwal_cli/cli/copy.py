"""``ironwal copy SRC_ROOT[/STREAM] DST_ROOT``: entries into another root at the same ids."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from . import write_options as shared
from ._app import QuietOption, RootOption, app, handles_errors, json_option, warn

COLUMNS = ["stream", "first", "next", "kept", "copied"]


@app.command()
@handles_errors
def copy(
    source: Path = typer.Argument(..., metavar="SRC", help="A root (every stream, and a sharded root's "
                                  "checkpoints), or ROOT/STREAM (one stream)."),
    destination: Path = typer.Argument(..., metavar="DST_ROOT", help="The root to copy into (created if need be)."),
    root: Path = typer.Option(RootOption.default, "-r", "--root", envvar="IRONWAL_ROOT", metavar="ROOT",
                              help="Where SRC is looked up when it is not found as given (ironwal copy STREAM DST)."),
    batch: int = typer.Option(1000, "--batch", min=1, metavar="N",
                              help="Merge consecutive source batches into frames of up "
                              "to this many entries (a source batch is never split)."),
    sync: shared.SyncMode = typer.Option(shared.SyncMode.batch, "--sync", envvar="IRONWAL_SYNC",
                                  help="strict: fdatasync every frame; batch: every group (~8 MiB); async: "
                                  "only at rotations."),
    compress: bool = shared.CompressOption,
    min_compress_size: str = shared.MinCompressSizeOption,
    max_segment_size: str = shared.MaxSegmentSizeOption,
    max_entries_per_segment: str = shared.MaxEntriesOption,
    lock_timeout: float = shared.LockTimeoutOption,
    quiet: bool = QuietOption,
    json_out: bool = json_option('one object per stream {"stream", "first", "next", "kept", "copied"}, one a line'),
) -> None:
    """Copy the entries of SRC into DST_ROOT at the same ids, with new writer options.

    Resumable: what DST_ROOT already holds is compared with the source and copying goes on
    after it; different entries at those ids are refused (exit 7). Every CRC is checked.
    """
    from ..ops.copy import copy_root

    if not source.exists() and (root / source).exists():
        source = root / source
    options = shared.write_options(max_segment_size=max_segment_size,
                                   max_entries_per_segment=max_entries_per_segment, sync=sync.value,
                                   compress=compress, min_compress_size=min_compress_size, lock_timeout=lock_timeout)
    rows = []

    def report(result) -> None:
        if json_out and not quiet:
            import json

            sys.stdout.write(json.dumps(result.to_dict()) + "\n")
            sys.stdout.flush()
        rows.append([result.stream, result.first, result.next, result.kept, result.copied])

    copy_root(source, destination, options, batch_size=batch, on_warning=warn, on_stream=report)
    if not json_out and not quiet:
        from .tables import print_table

        print_table(COLUMNS, rows, title=f"{source} -> {destination}")
