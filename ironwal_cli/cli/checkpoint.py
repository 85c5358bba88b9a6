"""``ironwal checkpoint create|list|show|compact``: the checkpoints of a sharded root."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ._app import (
    HELP_SETTINGS,
    ForceOption,
    LockTimeoutOption,
    RootOption,
    app,
    handles_errors,
    json_option,
    shards_option,
    warn,
)

checkpoint_app = typer.Typer(name="checkpoint", help="Create, list, show and compact the checkpoints of a "
                             "sharded root (checkpoints.log + HEAD).", no_args_is_help=True,
                             rich_markup_mode=None, context_settings=HELP_SETTINGS)
app.add_typer(checkpoint_app, name="checkpoint")

HexOption = typer.Option(False, "--hex", help="ID is given as hex digits (for ids that are not text).")
INFO_SHAPE = 'one object {"id", "id_hex", "timestamp_ns", "time", "shard_count", "offsets", "latest"}'


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


@checkpoint_app.command("create")
@handles_errors
def create(
    checkpoint_id: str = typer.Argument(..., metavar="ID", help="Checkpoint id (1..65535 bytes)."),
    root: Path = RootOption,
    hex_id: bool = HexOption,
    shards: int | None = shards_option("Shard count; checked against checkpoints.log, which supplies it "
                                       "when omitted (the first checkpoint needs it)."),
    lock_timeout: float = LockTimeoutOption,
    json_out: bool = json_option(INFO_SHAPE),
    force: bool = ForceOption,
) -> None:
    """Sync every shard, record each shard's next id as its offset, append the record, point HEAD at it."""
    from ..ops.checkpoint import create_checkpoint
    from ..sharded.checkpoints import parse_id

    info = create_checkpoint(root, parse_id(checkpoint_id, hex_id), shards=shards, lock_timeout=lock_timeout,
                             force=force)
    if json_out:
        _emit(info.to_dict())
    else:
        sys.stdout.write(f"{info.display_id}\t{info.time}\t{' '.join(map(str, info.offsets))}\n")


@checkpoint_app.command("list")
@handles_errors
def list_(
    root: Path = RootOption,
    archive: bool = typer.Option(False, "--archive", help="List the records compaction moved to "
                                 "<root>.quarantine/checkpoints-archive.log instead."),
    json_out: bool = json_option("a JSON array, one object per checkpoint, oldest first"),
) -> None:
    """One row per checkpoint, oldest first: id, time (ISO-8601 UTC), shard count; * marks the latest."""
    from ..ops.checkpoint import list_checkpoints

    infos = list_checkpoints(root, archive=archive, on_warning=warn)
    if json_out:
        _emit([i.to_dict() for i in infos])
        return
    from .tables import print_table

    print_table(["id", "time", "shards", "latest"],
                [[i.display_id, i.time, i.shard_count, "*" if i.is_latest else ""] for i in infos])


@checkpoint_app.command("show")
@handles_errors
def show(
    checkpoint_id: str | None = typer.Argument(None, metavar="ID", show_default=False,
                                                  help="Checkpoint id; default the latest (HEAD, else newest)."),
    root: Path = RootOption,
    hex_id: bool = HexOption,
    json_out: bool = json_option(INFO_SHAPE[:-1] + ', "shards"}'),
) -> None:
    """A checkpoint's offset per shard, and how many entries each shard holds past it."""
    from ..ops.checkpoint import show_checkpoint
    from ..sharded.checkpoints import parse_id

    wanted = parse_id(checkpoint_id, hex_id) if checkpoint_id is not None else None
    info, positions = show_checkpoint(root, wanted, on_warning=warn)
    if json_out:
        _emit({**info.to_dict(), "shards": [p.to_dict() for p in positions]})
        return
    sys.stdout.write(f"checkpoint {info.display_id}  {info.time}  {info.shard_count} shards"
                     f"{'  (latest)' if info.is_latest else ''}\n")
    from .tables import print_table

    print_table(["shard", "offset", "next", "past"], [[p.stream, p.offset, p.next_id, p.past] for p in positions])


@checkpoint_app.command("compact")
@handles_errors
def compact(
    keep: int = typer.Option(..., "--keep", min=1, metavar="N", help="How many of the newest checkpoints to keep."),
    root: Path = RootOption,
    lock_timeout: float = LockTimeoutOption,
    json_out: bool = json_option('one object {"records_before", "kept", "dropped", "bytes_reclaimed", "archive", '
                                 '"head_dropped"}'),
    force: bool = ForceOption,
) -> None:
    """Keep the N newest checkpoints; the dropped records are archived, byte for byte, not destroyed."""
    from ..ops.checkpoint import compact_checkpoints

    result = compact_checkpoints(root, keep, lock_timeout=lock_timeout, force=force)
    if result.head_dropped:
        warn("HEAD names a checkpoint that compaction dropped (it is in the archive); HEAD is left as it was")
    if json_out:
        _emit(result.to_dict())
        return
    for info in result.dropped:
        sys.stdout.write(f"archived {info.display_id}\t{info.time}\n")
    where = f"; archive: {result.archive}" if result.archive else ""
    sys.stdout.write(f"kept {len(result.kept)} of {result.before} records, reclaimed "
                     f"{result.bytes_reclaimed} bytes{where}\n")
