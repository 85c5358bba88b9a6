"""``ironwal ls``: the streams of a root."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors, json_option


@app.command("ls")
@handles_errors
def ls(
    root: Path = RootOption,
    json_out: bool = json_option('one object {"streams": [{"name", "segments", "first_id", "next_id", "bytes"}, '
                                 '...], "checkpoints": null or {"count", "latest", "problem"}}, the same shape on '
                                 'every root'),
) -> None:
    """One row per stream: name, segments, first id, next id, bytes on disk.

    A sharded root (one with checkpoints.log or HEAD) lists its shards, then a checkpoint
    summary ("checkpoints" in --json, null on a plain root).
    """
    from ..ops.listing import list_streams
    from ..sharded.checkpoints import is_sharded_root

    streams = list_streams(root)
    summary = None
    if is_sharded_root(root):
        from ..ops.checkpoint import checkpoint_summary

        summary = checkpoint_summary(root)
    if json_out:
        import json

        rows = [s.to_dict() for s in streams]
        typer.echo(json.dumps({"streams": rows, "checkpoints": None if summary is None else summary.to_dict()}))
        return
    from .tables import print_table

    print_table(["stream", "segments", "first", "next", "bytes"],
                [[s.name, s.segments, s.first_id, s.next_id, s.bytes] for s in streams],
                title=f"{root}")
    if summary is not None:
        from .sharded_summary import summary_line

        typer.echo(summary_line(summary))
