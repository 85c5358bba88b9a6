"""``ironwal ls``: the streams of a root."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors


@app.command("ls")
@handles_errors
def ls(
    root: Path = RootOption,
    json_out: bool = typer.Option(False, "--json", help="Print a JSON array of objects."),
) -> None:
    """One row per stream: name, segments, first id, next id, bytes on disk."""
    from ..ops.listing import list_streams

    streams = list_streams(root)
    if json_out:
        import json

        typer.echo(json.dumps([s.to_dict() for s in streams]))
        return
    from .tables import print_table

    print_table(["stream", "segments", "first", "next", "bytes"],
                [[s.name, s.segments, s.first_id, s.next_id, s.bytes] for s in streams],
                title=f"{root}")
