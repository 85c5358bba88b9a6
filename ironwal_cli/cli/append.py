"""``ironwal append``: write entries from arguments or stdin."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors
from .choices import SyncMode
from .params import parse_limit, parse_size


@app.command()
@handles_errors
def append(
    stream: str = typer.Argument(..., help="Stream key (sanitized to a directory name as the crate does)."),
    values: list[str] | None = typer.Argument(None, help="Entries; together one atomic batch. "
                                                 "Without VALUE, entries are read from stdin."),
    root: Path = RootOption,
    null: bool = typer.Option(False, "-0", "--null", help="Stdin holds NUL-terminated entries."),
    whole: bool = typer.Option(False, "--whole", help="All of stdin is one entry."),
    batch: int = typer.Option(1000, "--batch", envvar="IRONWAL_BATCH", min=1,
                              help="Entries per frame when reading stdin."),
    linger: int = typer.Option(50, "--linger", envvar="IRONWAL_LINGER", min=0,
                               help="Milliseconds an arrived entry may wait for its batch to fill."),
    sync: SyncMode = typer.Option(SyncMode.strict, "--sync", envvar="IRONWAL_SYNC",
                                  help="strict: fdatasync every write; batch: every batch; async: never."),
    compress: bool = typer.Option(False, "--compress/--no-compress", envvar="IRONWAL_COMPRESS",
                                  help="LZ4-compress batches when that makes them smaller."),
    min_compress_size: str = typer.Option("1024", "--min-compress-size", envvar="IRONWAL_MIN_COMPRESS_SIZE",
                                          help="Smallest raw batch that is compressed (bytes; 4k, 1MiB...)."),
    max_segment_size: str = typer.Option("64MiB", "--max-segment-size", envvar="IRONWAL_MAX_SEGMENT_SIZE",
                                         help="Rotate segments at about this size (4k, 64MiB...)."),
    max_entries_per_segment: str = typer.Option("unlimited", "--max-entries-per-segment",
                                                envvar="IRONWAL_MAX_ENTRIES_PER_SEGMENT",
                                                help="Rotate segments after this many entries."),
    lock_timeout: float = typer.Option(10.0, "--lock-timeout", envvar="IRONWAL_LOCK_TIMEOUT", min=0,
                                       help="Seconds to wait for another writer's lock."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing."),
    json_out: bool = typer.Option(False, "--json", help='Print one object {"stream", "first", "count", "next"}.'),
) -> None:
    """Append entries to STREAM and print the id of each, once it is durable.

    In strict and batch sync modes an id is printed only after its batch was fsync'd, so a
    printed id is a promise a script can rely on.
    """
    from ..engine.writer import WriteOptions
    from ..ops.append import append_from, append_values

    if null and whole:
        raise typer.BadParameter("choose one of -0/--null and --whole")
    if values and (null or whole):
        raise typer.BadParameter("-0/--null and --whole read stdin; they take no VALUE arguments")
    options = WriteOptions(
        max_segment_size=parse_size(max_segment_size),
        max_entries_per_segment=parse_limit(max_entries_per_segment),
        sync=sync.value,
        compress=compress,
        min_compress_size=parse_size(min_compress_size),
        lock_timeout=lock_timeout,
    )
    if values:
        encoded = [v.encode("utf-8", "surrogateescape") for v in values]
        ranges = [append_values(root, stream, encoded, options)]
    else:
        mode = "whole" if whole else "null" if null else "lines"
        ranges = append_from(root, stream, sys.stdin.fileno(), mode=mode, batch_size=batch,
                             linger=linger / 1000, options=options)
    _report(stream, ranges, quiet, json_out)


def _report(stream: str, ranges, quiet: bool, json_out: bool) -> None:
    out = sys.stdout
    first = nxt = None
    count = 0
    for ids in ranges:
        if first is None and len(ids):
            first = ids.start
        count += len(ids)
        nxt = ids.stop
        if not quiet and not json_out and len(ids):
            out.write("\n".join(map(str, ids)))
            out.write("\n")
            out.flush()
    if json_out and not quiet:
        import json

        out.write(json.dumps({"stream": stream, "first": first, "count": count, "next": nxt}) + "\n")
        out.flush()
