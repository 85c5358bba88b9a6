"""``ironwal recover``: repair after a crash, losing nothing; ``--undo RUN`` puts a run back."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import EXIT_OK, EXIT_PROBLEMS, EXIT_REFUSED
from ._app import (
    ForceOption,
    LockTimeoutOption,
    RootOption,
    app,
    fail,
    handles_errors,
    json_option,
    progress_option,
    warn,
)
from .progress import wanted, with_progress


@app.command()
@handles_errors
def recover(
    streams: list[str] | None = typer.Argument(None, metavar="STREAM",
                                               help="Streams to repair (default: the whole root)."),
    root: Path = RootOption,
    dry_run: bool = typer.Option(False, "-n", "--dry-run",
                                 help="Change nothing: print the plan; exit 1 when repairs are needed."),
    json_out: bool = json_option('one object {"root", "dry_run", "run", "repairs_needed", "actions", ...} '
                                 'instead of a table'),
    quarantine: str | None = typer.Option(None, "--quarantine", metavar="DIR",  # str: Path("") would be "."
                                           help="Where removed bytes are saved (default: ROOT.quarantine, "
                                                "beside the root; never inside it)."),
    undo: str | None = typer.Option(None, "--undo", metavar="RUN",
                                    help="Put back every file the recover run RUN (a quarantine "
                                         "subfolder, by name or path) changed, byte for byte."),
    full: bool = typer.Option(False, "--full",
                              help="Read every segment, also the sealed ones unchanged since they were sealed "
                                   "(which recover otherwise skips): repairs damage that kept a segment's "
                                   "size and times, such as bit rot that verify found."),
    lock_timeout: float = LockTimeoutOption,
    progress: bool | None = progress_option(),
    force: bool = ForceOption,
) -> None:
    """Repair a root after a crash: cut torn tails, quarantine damaged frames, keep every intact entry.

    Lost ids are recorded in lost.idx and filled with filler frames, so
    the crate's own replay fails at the first lost id instead of ending
    silently; recover says which ids are lost and where a replay resumes.

    Every removed byte is first copied (fsync'd) into a quarantine run folder with a
    manifest, and --undo RUN restores the root byte for byte. Segments sealed (checked and
    synced) and unchanged since are not re-read, unless --full. Exit 0 when done (with
    --dry-run: nothing to do), 1 with --dry-run when repairs are needed, 1 for an --undo
    of a run already undone (nothing changed), 3 when an undo is refused.
    """
    from ..ops.recover import recover as run_recover
    from ..ops.recover import undo_recover as run_undo

    if undo is not None:
        if streams or full:
            raise typer.BadParameter("--undo takes no STREAM arguments and no --full: it puts back the whole run")
        report = run_undo(root, undo, quarantine=quarantine, dry_run=dry_run, lock_timeout=lock_timeout,
                          force=force)
        if report.already_undone is not None:  # nothing to do: said, and refused (exit 7)
            if json_out:
                _render(report.to_dict(), json_out, undo=True)
            raise fail(f"{report.run}: already undone at {report.already_undone}; nothing to undo, "
                       "nothing changed", EXIT_REFUSED)
        _render(report.to_dict(), json_out, undo=True)
        return

    def run(on_progress=None):
        return run_recover(root, streams or None, dry_run=dry_run, quarantine=quarantine, full=full,
                           lock_timeout=lock_timeout, on_progress=on_progress, force=force)

    report = with_progress("recover", run) if wanted(progress) else run()
    _render(report.to_dict(), json_out, undo=False)
    if dry_run:
        raise typer.Exit(EXIT_PROBLEMS if report.repairs_needed else EXIT_OK)


def _render(result: dict, json_out: bool, undo: bool) -> None:
    if json_out:
        import json

        sys.stdout.write(json.dumps(result) + "\n")
        return
    from .tables import print_table

    verb = "would" if result["dry_run"] else "done"
    columns = ["file", "action", f"what ({verb})"] if undo else ["file", "action", "quarantined", f"what ({verb})"]
    rows = [[a["path"], a["action"], a["what"]] if undo else [a["path"], a["action"], a["removed_bytes"], a["what"]]
            for a in result["actions"]]
    if rows:
        print_table(columns, rows, title=result["root"])
    elif not undo:
        sys.stdout.write(f"{result['root']}: nothing to repair\n")
    skipped = result.get("skipped_sealed") or {}
    if skipped.get("segments"):
        n = skipped["segments"]
        what, were, them = ("segments", "they were", "them") if n != 1 else ("segment", "it was", "it")
        sys.stdout.write(f"{n} sealed {what} ({_size(skipped['bytes'])}) unchanged since {were} sealed: "
                         f"not re-read (--full reads {them})\n")
    for note in result.get("notes", []):
        warn(f"{note['path']}: {note['message']}")
    for name, seen in (result.get("replay") or {}).items():
        lost = ", ".join(f"{a}..{b - 1}" for a, b in seen["lost"])
        sys.stdout.write(f"replay {name}: after the repair the crate's iter(0) fails at id {seen['fails_at']} "
                         f"(lost ids {lost}); resume with iter_from({seen['resume_at']})\n")
    if result.get("run") and not result["dry_run"]:
        what = "undo of" if undo else "removed bytes and undo data in"
        sys.stderr.write(f"ironwal: {what} {result['run']}\n")


def _size(n: float) -> str:
    """Bytes for people: 768 MiB."""
    if n < 1024:
        return f"{n:.0f} bytes"
    units = iter(("KiB", "MiB", "GiB", "TiB"))
    unit = next(units)
    while (n := n / 1024) >= 1024 and unit != "TiB":
        unit = next(units)
    return f"{n:.0f} {unit}"
