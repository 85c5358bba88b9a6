"""``ironwal append``: write entries from arguments or stdin."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import (
    ForceOption,
    QuietOption,
    RootOption,
    app,
    handles_errors,
    json_option,
    shards_option,
    stream_argument,
)
from .choices import EntryFormat
from .write_options import (
    CompressOption,
    LockTimeoutOption,
    MaxEntriesOption,
    MaxSegmentSizeOption,
    MinCompressSizeOption,
    SyncMode,
)

INPUT_FORMAT_HELP = ("How stdin holds entries, as tail -F prints them: line (default), null, raw (all of "
                     "stdin is one entry), or one encoded entry per line: jsonl (b64, or text alone), hex, "
                     "base64. A bad line is refused by number; nothing of its batch is written.")

# Here, not in sharded_append: a plain append should not import that module (and json) to start.
SHARDS_HELP = ("Shard count of a sharded root; checked against checkpoints.log, which supplies it when omitted. "
               "Used with --key/-K.")


@app.command()
@handles_errors
def append(
    stream: str | None = stream_argument("Stream key (sanitized to a directory name as the crate does). "
                                         "Required, except with --key or -K (sharded roots).", required=False),
    values: list[str] | None = typer.Argument(None, metavar="VALUE", help="Entries; together one atomic batch. "
                                                 "Without VALUE, entries are read from stdin."),
    root: Path = RootOption,
    input_format: EntryFormat | None = typer.Option(None, "--input-format", "-I", envvar="IRONWAL_INPUT_FORMAT",
                                                    metavar="FORMAT", show_default=False, help=INPUT_FORMAT_HELP),
    null: bool = typer.Option(False, "-0", "--null", help="Stdin holds NUL-terminated entries "
                              "(--input-format null)."),
    whole: bool = typer.Option(False, "--whole", help="All of stdin is one entry (--input-format raw)."),
    expect_ids: bool = typer.Option(False, "--expect-ids", help="With -I jsonl: refuse a batch whose first "
                                    "record's id is not the stream's next id (resumed copies never double or "
                                    "skip)."),
    batch: int = typer.Option(1000, "--batch", envvar="IRONWAL_BATCH", min=1, metavar="N",
                              help="Entries per frame when reading stdin."),
    linger: int = typer.Option(50, "--linger", envvar="IRONWAL_LINGER", min=0, metavar="MS",
                               help="Milliseconds an arrived entry may wait for its batch to fill."),
    sync: SyncMode = typer.Option(SyncMode.strict, "--sync", envvar="IRONWAL_SYNC",
                                  help="strict: fdatasync every write; batch: every batch; async: never."),
    compress: bool = CompressOption,
    min_compress_size: str = MinCompressSizeOption,
    max_segment_size: str = MaxSegmentSizeOption,
    max_entries_per_segment: str = MaxEntriesOption,
    lock_timeout: float = LockTimeoutOption,
    hold_lock: bool = typer.Option(False, "--hold-lock",
                                   help="Keep the stream's lock from the first write until stdin ends: other "
                                   "writers and recover wait; each append skips the lock and the tail re-check."),
    quiet: bool = QuietOption,
    json_out: bool = json_option('one object {"stream", "first", "count", "next"} (routed: one per shard, '
                                 'with "shard")'),
    key: str | None = typer.Option(None, "--key", metavar="KEY",
                                   help="Sharded root: route the values to this key's shard "
                                      "(no STREAM argument). Prints SHARD ID per entry."),
    key_sep: str | None = typer.Option(None, "-K", "--key-separator", metavar="SEP",
                                          help="Sharded root: stdin holds KEY<SEP>VALUE records; route each value "
                                          "by its key."),
    shards: int | None = shards_option(SHARDS_HELP),
    force: bool = ForceOption,
) -> None:
    """Append entries to STREAM and print the id of each, once it is durable.

    In strict and batch sync modes an id is printed only after its batch was fsync'd, so a
    printed id is a promise a script can rely on.
    """
    from .append_run import run_append  # the command itself: shared with the quick start (quick_append)

    run_append(stream, values, root=root, input_format=input_format.value if input_format is not None else None,
               null=null, whole=whole, expect_ids=expect_ids, batch=batch, linger=linger, sync=sync.value,
               compress=compress, min_compress_size=min_compress_size, max_segment_size=max_segment_size,
               max_entries_per_segment=max_entries_per_segment, lock_timeout=lock_timeout, hold_lock=hold_lock,
               quiet=quiet, json_out=json_out, key=key, key_sep=key_sep, shards=shards, force=force)
