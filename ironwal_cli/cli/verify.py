"""``ironwal verify``: audit a root, streams or segments; exit 1 when anything is wrong.

Read-only and lock-free. One line per problem, then per-stream totals: rich on a terminal,
plain lines (``path@offset: kind: message``) and tab-separated totals otherwise, or ``--json``.
A progress bar goes to stderr, and only when stderr is a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import EXIT_OK, EXIT_PROBLEMS
from ._app import QuietOption, RootOption, app, handles_errors, json_option, progress_option, refuse_quiet_json
from .progress import wanted, with_progress

# Lost ids with no damaged byte to see: a user would not guess that plain recover repairs them (it
# fills them so a crate replay fails there); the hint says so.
LOSS_KINDS = frozenset({"ids_skip", "segment_gap", "replay_stops_silently", "lost_unrecorded"})


@app.command()
@handles_errors
def verify(
    targets: list[str] | None = typer.Argument(
        None, metavar="TARGET",
        help="Stream names, stream directories or segment files to check (default: the whole root)."),
    root: Path = RootOption,
    json_out: bool = json_option('one object {"ok", "problems", "streams", "replay"}'),
    quiet: bool = QuietOption,
    jobs: int | None = typer.Option(None, "-j", "--jobs", min=1, metavar="N",
                                       help="Threads checking segments side by side (default: CPUs, at most 4)."),
    progress: bool | None = progress_option(),
) -> None:
    """Check every frame, segment, stream and checkpoint under the root, without writing a byte.

    Exit 0 when everything is sound, 1 when any problem is found, 2 on a usage error, 6 when a
    target or the root does not exist.
    """
    from ..ops.verify import damage_behind_seals, verify_root

    refuse_quiet_json(quiet, json_out)

    if wanted(progress, quiet):
        _note_without_native(quiet)
        report = with_progress("verify", lambda cb: verify_root(root, targets, on_progress=cb, jobs=jobs))
    else:
        report = verify_root(root, targets, jobs=jobs)
    if json_out and not quiet:
        import json

        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    elif not quiet:
        (_print_rich if sys.stdout.isatty() else _print_plain)(report)
    sys.stdout.flush()
    if not quiet and damage_behind_seals(root, report):
        sys.stderr.write("ironwal: hint: damage in a segment unchanged since it was sealed (bit rot): repair it "
                         "with `ironwal recover --full` (recover alone trusts the seal and skips it)\n")
    elif not quiet and not json_out and any(p.kind in LOSS_KINDS for p in report.problems):
        sys.stderr.write("ironwal: hint: `ironwal recover` repairs this (`recover -n` shows the plan): it "
                         "records the lost ids and fills them, so a crate replay fails there instead of "
                         "ending silently\n")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _note_without_native(quiet: bool) -> None:
    """Where the C speed-up was not built, a long verify says why it is slower than it could be."""
    from ..spec.native import NATIVE

    if NATIVE is None and not quiet:
        sys.stderr.write("ironwal: note: the C speed-up is not built (see `ironwal --version`): the length-prefix "
                         "walks run in Python, slower on entries of mixed lengths\n")


def _summary(report) -> str:
    n = report.problem_count  # the ones summarised by a count line too
    return "ok" if report.ok else f"{n} problem{'s' if n != 1 else ''} found"


def _total_rows(report) -> list[list[object]]:
    return [[name, t.segments, t.frames, t.entries, t.bytes, "-" if t.lz4_ratio is None else t.lz4_ratio]
            for name, t in report.streams.items()]


TOTAL_COLUMNS = ["stream", "segments", "frames", "entries", "bytes", "lz4 ratio"]


def _replay_lines(report) -> list[str]:
    """Per stream with lost ids: where the crate's replay stops or fails, and where to resume."""
    return [f"{name}: {line}" for name, r in report.replays.items() if (line := r.describe()) is not None]


def _print_plain(report) -> None:
    from .tables import print_table

    for problem in report.problems:
        sys.stdout.write(f"{problem}\n")
    for line in _replay_lines(report):
        sys.stdout.write(f"replay {line}\n")
    print_table(TOTAL_COLUMNS, _total_rows(report))
    sys.stdout.write(_summary(report) + "\n")


def _print_rich(report) -> None:
    from rich.console import Console
    from rich.markup import escape

    from .tables import print_table

    console = Console()
    for p in report.problems:
        where = p.path if p.offset is None else f"{p.path}@{p.offset}"
        console.print(f"[bold red]{p.kind}[/] {escape(where)}: {escape(p.message)}", highlight=False)
    for line in _replay_lines(report):
        console.print(f"[bold yellow]replay[/] {escape(line)}", highlight=False)
    print_table(TOTAL_COLUMNS, _total_rows(report), title="streams")
    console.print(f"[bold green]{_summary(report)}[/]" if report.ok else f"[bold red]{_summary(report)}[/]")
