"""``ironwal restore DEST [ROOT]``: a root rebuilt from a backup generation (``ops.backup.restore``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ._app import QuietOption, RootOption, app, handles_errors, json_option, note, progress_option, refuse_quiet_json
from .progress import wanted, with_progress


@app.command()
@handles_errors
def restore(
    dest: str = typer.Argument(..., metavar="DEST", help="The backup: a directory, or s3://BUCKET/PREFIX."),
    target: Path | None = typer.Argument(None, metavar="ROOT", show_default=False,
                                         help="The root to build (absent or empty); default -r ROOT."),
    root: Path = RootOption,
    generation: str | None = typer.Option(None, "-g", "--generation", metavar="G",
                                          help="A generation id or unique prefix (default: the latest)."),
    checkpoint: str | None = typer.Option(None, "--checkpoint", metavar="ID", help="Cut every shard at this "
                                          "checkpoint's offsets (a sharded root)."),
    hex_id: bool = typer.Option(False, "--hex", help="The checkpoint ID is given as hex digits."),
    to_id: list[str] | None = typer.Option(None, "--to-id", metavar="STREAM=ID", help="Restore STREAM up to "
                                           "and including id ID (repeat for more streams)."),
    force: bool = typer.Option(False, "--force", help="Restore even when ROOT is not empty: ROOT is renamed "
                               "aside to ROOT.before-restore-G first, never deleted."),
    check: bool = typer.Option(True, "--check/--no-check", help="Run ironwal verify on the rebuilt root before it "
                               "takes ROOT's place (default: on)."),
    quiet: bool = QuietOption,
    json_out: bool = json_option('one object {"generation", "root", "streams", "bytes", "checkpoint", '
                                 '"moved_aside"}'),
    progress: bool | None = progress_option(),
) -> None:
    """Rebuild a root from a backup generation, whole or at a point (checkpoint, ids).

    Every piece is checked against its sha256 and every frame's CRC; the root is built beside
    ROOT, verified, then renamed into place. A non-empty ROOT is refused (exit 7) without --force.
    """
    from ..ops.backup import parse_to_ids
    from ..ops.backup import restore as run_restore
    from ..sharded.checkpoints import parse_id

    refuse_quiet_json(quiet, json_out)
    wanted_cp = parse_id(checkpoint, hex_id) if checkpoint is not None else None
    ids = parse_to_ids(to_id or [])

    def job(cb=None):
        return run_restore(dest, target if target is not None else root, generation=generation,
                           checkpoint=wanted_cp, to_ids=ids, force=force, check=check, on_progress=cb)

    result = with_progress("restore", job) if wanted(progress, quiet) else job()
    if result.moved_aside and not json_out:
        note(f"{result.root} was not empty: moved aside to {result.moved_aside}")
    if json_out:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    elif not quiet:
        from .tables import id_ranges

        sys.stdout.write(f"restored {result.generation} into {result.root}: {result.bytes} bytes\t"
                         f"{id_ranges(result.streams)}\n")
