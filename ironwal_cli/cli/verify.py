"""``ironwal verify``: audit a root, streams or segments; exit 1 when anything is wrong.

Read-only and lock-free. One line per problem, then per-stream totals: rich on a terminal,
plain lines (``path@offset: kind: message``) and tab-separated totals otherwise, or ``--json``.
A progress bar goes to stderr, and only when stderr is a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors


@app.command()
@handles_errors
def verify(
    targets: list[str] | None = typer.Argument(
        None, metavar="TARGET",
        help="Stream names, stream directories or segment files to check (default: the whole root)."),
    root: Path = RootOption,
    json_out: bool = typer.Option(False, "--json", help='Print one object {"ok", "problems", "streams"}.'),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing; only the exit status tells."),
    jobs: int | None = typer.Option(None, "-j", "--jobs", min=1,
                                       help="Threads checking segments side by side (default: CPUs, at most 4)."),
) -> None:
    """Check every frame, segment, stream and checkpoint under the root, without writing a byte.

    Exit 0 when everything is sound, 1 when any problem is found, 2 on a usage error.
    """
    from ..ops.verify import damage_behind_seals, verify_root

    if sys.stderr.isatty() and not quiet:
        report = _with_progress(lambda cb: verify_root(root, targets, on_progress=cb, jobs=jobs))
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
    raise typer.Exit(0 if report.ok else 1)


def _with_progress(run):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("verify"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("verify", total=None)
        return run(lambda done, total: bar.update(task, completed=done, total=total))


def _summary(report) -> str:
    n = report.problem_count  # the ones summarised by a count line too
    return "ok" if report.ok else f"{n} problem{'s' if n != 1 else ''} found"


def _total_rows(report) -> list[list[object]]:
    return [[name, t.segments, t.frames, t.entries, t.bytes, "-" if t.lz4_ratio is None else t.lz4_ratio]
            for name, t in report.streams.items()]


TOTAL_COLUMNS = ["stream", "segments", "frames", "entries", "bytes", "lz4 ratio"]


def _print_plain(report) -> None:
    from .tables import print_table

    for problem in report.problems:
        sys.stdout.write(f"{problem}\n")
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
    print_table(TOTAL_COLUMNS, _total_rows(report), title="streams")
    console.print(f"[bold green]{_summary(report)}[/]" if report.ok else f"[bold red]{_summary(report)}[/]")
