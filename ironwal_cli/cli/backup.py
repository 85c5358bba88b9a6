"""``ironwal backup [push] DEST``, ``backup list DEST``, ``backup verify DEST``: thin commands over
``ops.backup``. ``ironwal backup DEST`` is ``ironwal backup push DEST`` (the group's default)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import typer
import typer.core

from ._app import (
    HELP_SETTINGS,
    QuietOption,
    RootOption,
    app,
    handles_errors,
    json_option,
    note,
    progress_option,
    refuse_quiet_json,
    warn,
)
from .progress import wanted, with_progress
from .tables import id_ranges


class _DefaultGroup(typer.core.TyperGroup):
    """A group whose first argument, when it names no subcommand, is the default command's."""

    default_command = "push"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


backup_app = typer.Typer(name="backup", cls=_DefaultGroup, no_args_is_help=True, rich_markup_mode=None,
                         context_settings=HELP_SETTINGS,
                         help="Back a live root up to a directory or s3://BUCKET/PREFIX, incrementally, as "
                         "generations; list and verify them. ironwal backup DEST is ironwal backup push DEST. "
                         "Restore with ironwal restore.")
app.add_typer(backup_app, name="backup")

DestArgument = typer.Argument(..., metavar="DEST", help="A directory, or s3://BUCKET/PREFIX (needs the "
                              "ironwal-cli[s3] extra).")
GenerationOption = typer.Option(None, "-g", "--generation", metavar="G",
                                help="A generation id, or a unique prefix of one (see backup list).")
RESULT_SHAPE = ('one object per run {"generation", "streams", "bytes", "read_bytes", "sent_bytes", '
                '"sent_objects", "reused_bytes", "seconds", "retention"}, one a line')


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


@backup_app.command("push")
@handles_errors
def push(
    dest: str = DestArgument,
    root: Path = RootOption,
    keep: int | None = typer.Option(None, "--keep", min=1, metavar="N", help="After the run, keep the N newest "
                                    "generations and delete objects no kept generation needs."),
    watch: bool = typer.Option(False, "--watch", help="Back up again every --interval seconds until SIGTERM "
                               "or SIGINT (a run under way finishes first)."),
    interval: float | None = typer.Option(None, "--interval", min=0.001, metavar="SECONDS",
                                          help="Seconds between runs (implies --watch; default 60)."),
    checksum: bool = typer.Option(False, "--checksum", help="Read and hash every segment, even one unchanged "
                                  "since the last generation (stored pieces are still not sent again)."),
    part_size: str = typer.Option("4MiB", "--part-size", metavar="SIZE", help="Largest piece a file is "
                                  "stored in: an active segment that grew costs its new bytes plus at most this."),
    quiet: bool = QuietOption,
    json_out: bool = json_option(RESULT_SHAPE),
    progress: bool | None = progress_option(),
) -> None:
    """Copy ROOT's intact frames into DEST as a new generation; only what changed is sent.

    Takes no lock on the root and never blocks appends. The manifest of the generation is
    written last, so a run that fails or is killed leaves no generation listed. The progress
    bar is shown for a single run (not with --watch).
    """
    from .params import parse_size

    refuse_quiet_json(quiet, json_out)
    part_size_bytes = parse_size(part_size, "--part-size")
    if part_size_bytes < 4096:
        raise typer.BadParameter(f"--part-size {part_size}: at least 4k")
    stop = threading.Event()
    before = {sig: signal.signal(sig, lambda *_: stop.set())  # the run under way finishes, then exit 0
              for sig in (signal.SIGTERM, *((signal.SIGINT,) if watch or interval is not None else ()))}
    try:
        _push(root, dest, keep, watch, interval, checksum, part_size_bytes, quiet, json_out, progress, stop)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _push(root, dest, keep, watch, interval, checksum, size, quiet, json_out, progress, stop) -> None:
    from ..ops.backup import backup_root
    from ..ops.backup import watch as watch_loop

    show = wanted(progress, quiet)

    def run_once():
        def job(report=None):
            return backup_root(root, dest, keep=keep, checksum=checksum, part_size=size, on_progress=report,
                               on_retry=warn)

        return with_progress("backup", job) if show else job()

    def report(result) -> None:
        if json_out:
            _emit(result.to_dict())
        elif not quiet:
            kept = ""
            if result.retention is not None and result.retention.deleted_generations:
                r = result.retention
                kept = (f"; deleted {len(r.deleted_generations)} generations, {r.deleted_objects} objects "
                        f"({r.deleted_bytes} bytes)")
            sys.stdout.write(f"{result.generation}\t{result.bytes} bytes\tsent {result.sent_bytes} bytes in "
                             f"{result.sent_objects} objects\t{id_ranges(result.streams)}{kept}\n")
            sys.stdout.flush()

    if not watch and interval is None:
        report(run_once())
        return
    runs = watch_loop(root, dest, 60.0 if interval is None else interval, stop=stop, on_result=report,
                      on_error=warn, keep=keep, checksum=checksum, part_size=size, on_retry=warn)
    if not quiet and not json_out:
        note(f"stopped after {runs} runs")


@backup_app.command("list")
@handles_errors
def list_(
    dest: str = DestArgument,
    json_out: bool = json_option('a JSON array, oldest first, of {"generation", "created", "streams", "bytes", '
                                 '"sent_bytes", "checkpoints", "error"}'),
) -> None:
    """The generations of DEST, oldest first: id, time, bytes, bytes sent, ids per stream."""
    from ..ops.backup import list_generations

    infos = list_generations(dest)
    if json_out:
        _emit([i.to_dict() for i in infos])
        return
    from .tables import print_table

    print_table(["generation", "created", "bytes", "sent", "checkpoints", "ids"],
                [[i.generation, i.created or f"unreadable: {i.error}", i.bytes, i.sent_bytes, i.checkpoints,
                  id_ranges(i.streams)] for i in infos])


@backup_app.command("verify")
@handles_errors
def verify(
    dest: str = DestArgument,
    generation: str | None = GenerationOption,
    latest: bool = typer.Option(False, "--latest", help="Check only the latest generation (default: all)."),
    quiet: bool = QuietOption,
    json_out: bool = json_option('one object {"ok", "generations", "objects", "bytes", "frames", "problems"}'),
    progress: bool | None = progress_option(),
) -> None:
    """Check every object of DEST against its manifest's sha256, and every stored frame's CRC and
    ids, without a restore. Exit 1 when anything is missing or damaged."""
    from ..ops.backup import verify_backup

    refuse_quiet_json(quiet, json_out)

    def job(cb=None):
        return verify_backup(dest, generation, every=not latest, on_progress=cb)

    report = with_progress("verify", job) if wanted(progress, quiet) else job()
    if json_out:
        _emit(report.to_dict())
    elif not quiet:
        for p in report.problems:
            at = f" at offset {p.offset}" if p.offset is not None else ""
            sys.stdout.write(f"{p.generation}\t{p.path}{at}\t{p.kind}\t{p.message}\n")
        verdict = "ok" if report.ok else f"{len(report.problems)} problems"
        sys.stdout.write(f"{verdict}: {len(report.generations)} generations, {report.objects} objects, "
                         f"{report.bytes} bytes, {report.frames} frames checked\n")
    sys.stdout.flush()
    if not report.ok:
        raise typer.Exit(1)
