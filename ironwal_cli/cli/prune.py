"""``ironwal prune``: delete whole segments below an id, or below a checkpoint on every shard."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ._app import (
    ForceOption,
    LockTimeoutOption,
    RootOption,
    app,
    handles_errors,
    json_option,
    shards_option,
    stream_argument,
)


@app.command()
@handles_errors
def prune(
    stream: str | None = stream_argument("Stream key (with --before). Not given with --checkpoint.", required=False),
    root: Path = RootOption,
    before: int | None = typer.Option(None, "--before", min=0, metavar="ID",
                                         help="Delete the segments whose ids all lie below the segment holding ID."),
    checkpoint: str | None = typer.Option(None, "--checkpoint", metavar="ID",
                                             help="Sharded root: prune every shard to this checkpoint's offset."),
    hex_id: bool = typer.Option(False, "--hex", help="The --checkpoint ID is given as hex digits."),
    shards: int | None = shards_option("Shard count; refused when the checkpoint records another."),
    dry_run: bool = typer.Option(False, "-n", "--dry-run", help="List what would be deleted; change nothing."),
    lock_timeout: float = LockTimeoutOption,
    json_out: bool = json_option('one object {"dry_run", "streams", "segments", "bytes"}'),
    force: bool = ForceOption,
) -> None:
    """Delete old segments as the crate's truncate does: never the active one, segments.idx rewritten.

    Prints one line per deleted segment (STREAM FILE FIRST_ID BYTES).
    """
    from ..ops.prune import prune_checkpoint, prune_stream

    if (before is None) == (checkpoint is None):
        raise typer.BadParameter("give exactly one of --before ID (with STREAM) and --checkpoint ID")
    if before is not None:
        if stream is None:
            raise typer.BadParameter("--before needs a STREAM")
        if hex_id or shards is not None:
            raise typer.BadParameter("--hex and --shards go with --checkpoint")
        results = [prune_stream(root, stream, before, dry_run=dry_run, lock_timeout=lock_timeout, force=force)]
    else:
        if stream is not None:
            raise typer.BadParameter("--checkpoint prunes every shard; it takes no STREAM")
        from ..sharded.checkpoints import parse_id

        results = prune_checkpoint(root, parse_id(checkpoint, hex_id), shards=shards, dry_run=dry_run,
                                   lock_timeout=lock_timeout, force=force)
    deleted = sum(len(r.deleted) for r in results)
    size = sum(r.bytes for r in results)
    if json_out:
        sys.stdout.write(json.dumps({"dry_run": dry_run, "streams": [r.to_dict() for r in results],
                                     "segments": deleted, "bytes": size}) + "\n")
        return
    for r in results:
        for d in r.deleted:
            sys.stdout.write(f"{r.stream}\t{d.file}\t{d.first_id}\t{d.bytes}\n")
    verb = "would delete" if dry_run else "deleted"
    sys.stderr.write(f"ironwal: {verb} {deleted} segment(s), {size} bytes, from {len(results)} stream(s)\n")
