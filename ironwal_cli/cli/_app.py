"""The one typer app, the options every command shares, and the error-to-exit-code choke point."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import typer

from ..errors import EXIT_IO, EXIT_USAGE, IronwalError

app = typer.Typer(
    name="ironwal",
    help="Read, write, audit and repair IronWal 0.6 write-ahead logs.\n\n"
    "Every command takes -r/--root ROOT (default ./wal_data, or IRONWAL_ROOT), also before the command: "
    "ironwal -r ROOT tail STREAM.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)



@app.callback()
def _group() -> None:
    """Read, write, audit and repair IronWal 0.6 write-ahead logs."""
    # Keeps ``app`` a command group even when ``cli.entry`` registers a single command.


ROOT_HELP = "WAL root directory."
RootOption = typer.Option(Path("./wal_data"), "-r", "--root", envvar="IRONWAL_ROOT", help=ROOT_HELP,
                          show_default=True)


def run(application: typer.Typer) -> None:
    """Run the app, with click's own usage errors as one ``ironwal: error:`` line (exit 2).

    typer renders them as a multi-line box; scripts and people reading a log want one line that
    names the argument, like every other error of this tool.
    """
    from .argv import hoist_root

    try:
        code = application(args=hoist_root(sys.argv[1:]), standalone_mode=False)
    except Exception as err:  # click's exceptions (typer bundles its own click): duck-typed
        message, exit_code = getattr(err, "format_message", None), getattr(err, "exit_code", None)
        if message is None or exit_code is None:
            raise
        if type(err).__name__ == "NoArgsIsHelpError":  # bare `ironwal`: the help, as click shows it
            sys.stderr.write(message() + "\n")
            sys.exit(exit_code)
        command = getattr(getattr(err, "ctx", None), "command_path", "ironwal")
        sys.stderr.write(f"ironwal: error: {message()} (see '{command} --help')\n")
        sys.exit(exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(f"ironwal: error: {message}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def warn(message: str) -> None:
    sys.stderr.write(f"ironwal: warning: {message}\n")
    sys.stderr.flush()


def handles_errors(fn):
    """Turn the package's exceptions into one stderr line and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IronwalError as err:
            raise fail(str(err), err.exit_code) from None
        except typer.BadParameter as err:  # a value check inside a command: one line too, not a box
            raise fail(err.format_message(), EXIT_USAGE) from None
        except BrokenPipeError:
            quiet_broken_pipe()
            raise typer.Exit(0) from None
        except OSError as err:
            name = f"{err.filename}: " if err.filename else ""
            raise fail(f"{name}{err.strerror or err}", EXIT_IO) from None
        except ValueError as err:  # typed argument checks that escaped the library
            raise fail(str(err), EXIT_USAGE) from None

    return wrapper


def quiet_broken_pipe() -> None:
    """The reader went away (``| head``): end quietly, without Python's flush error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
