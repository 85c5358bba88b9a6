"""The one typer app and the error-to-exit-code choke point (the shared options: ``options.py``)."""

from __future__ import annotations

import functools
import sys

import typer
import typer.core

from ..errors import EXIT_IO, EXIT_USAGE, IronwalError
from .exits import error_line, internal_error, note, os_error_text, quiet_broken_pipe, warn  # noqa: F401 - shared
from .options import (  # noqa: F401 - the command modules import the shared options from here too
    ForceOption,
    FormatOption,
    LockTimeoutOption,
    QuietOption,
    RootOption,
    json_option,
    progress_option,
    refuse_quiet_json,
    shards_option,
    stream_argument,
)


def _plain_metavar(self, ctx=None, *, usage: bool = False) -> str:
    """An argument as man pages write it: STREAM, [STREAM], [VALUE]... (typer writes {STREAM}
    for a required one and drops the ``...`` of a repeated one that has a metavar)."""
    var = self.metavar or (self.name or "").upper()
    if self.nargs != 1 and not var.endswith("..."):
        var += "..."
    return f"[{var}]" if usage and not self.required else var


# Once, for every command of this app (a subclass would need a custom class on each argument).
typer.core.TyperArgument.make_metavar = _plain_metavar

# Every group and command: -h too, and help text wrapped at the terminal's width up to 100 columns.
HELP_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

app = typer.Typer(
    name="ironwal",
    help="Read, write, audit and repair IronWal 0.6 write-ahead logs.\n\n"
    "Every command takes -r/--root ROOT (default ./wal_data, or IRONWAL_ROOT), also before the command: "
    "ironwal -r ROOT tail STREAM.",
    no_args_is_help=True,
    rich_markup_mode=None,  # click's plain help: rewrapped to the terminal, never cut at 80 columns
    context_settings=HELP_SETTINGS,
)


def _print_version(value: bool) -> None:
    if value:
        from .version import version_text

        sys.stdout.write(version_text())
        raise typer.Exit(0)


@app.callback()
def _group(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version, whether the C speed-up is built, and the versions of "
                                 "the libraries in use; then exit."),
) -> None:
    """Read, write, audit and repair IronWal 0.6 write-ahead logs."""
    # Keeps ``app`` a command group even when ``cli.launcher`` registers a single command.


def run(application: typer.Typer) -> None:
    """Run the app: click's usage errors as one ``ironwal: error:`` line (exit 2), and any other
    exception, which can only be a bug, as one internal-error line (exit 70).

    typer renders usage errors as a multi-line box; scripts and people reading a log want one
    line that names the argument, like every other error of this tool. A bug is not dressed up
    as a usage error: it says it is one, where to report it, and shows its traceback only when
    IRONWAL_DEBUG=1 (a user's log stays one line; a developer gets the whole story).
    """
    from .argv import hoist_root

    try:
        code = application(args=hoist_root(sys.argv[1:]), prog_name="ironwal", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (`ironwal --help | head -1`): not an error
        quiet_broken_pipe()
        sys.exit(0)
    except SystemExit as done:
        # rich (help written into `| head -1`) and typer end a closed pipe with exit 1; like
        # `tail`, a reader that went away is no error.
        if done.code == 1 and _closed_pipe_exit(done):
            quiet_broken_pipe()
            sys.exit(0)
        raise
    except Exception as err:  # click's exceptions (typer bundles its own click): duck-typed
        message, exit_code = getattr(err, "format_message", None), getattr(err, "exit_code", None)
        if message is None or exit_code is None:
            internal_error(err)
        if type(err).__name__ == "NoArgsIsHelpError":  # bare `ironwal`: the help, on stdout, exit 0
            sys.stdout.write(message() + "\n")
            sys.exit(0)
        command = getattr(getattr(err, "ctx", None), "command_path", "ironwal")
        text = message()
        option = getattr(err, "option_name", "") or ""
        if type(err).__name__ == "NoSuchOption" and option[1:].isdigit():  # `get s -1`: a value, not an option
            text = f"{option}: a negative number; ids and counts start at 0 (to pass a value that starts " \
                   "with -, put -- before it)"
        sys.stderr.write(f"ironwal: error: {text} (see '{command} --help')\n")
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _closed_pipe_exit(done: SystemExit) -> bool:
    """Whether ``done`` is rich's ``on_broken_pipe`` or typer's EPIPE exit (it wraps stdout first)."""
    tb = done.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (tb is not None and tb.tb_frame.f_code.co_name == "on_broken_pipe") or \
        type(sys.stdout).__name__ == "PacifyFlushWrapper"


def fail(message: str, code: int) -> typer.Exit:
    error_line(message)
    return typer.Exit(code)


def handles_errors(fn):
    """Turn the package's exceptions into one stderr line and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..ops.locking import tell_lock_waits

        tell_lock_waits(note)  # a command waiting for a lock says so after a second, not silently
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
            raise fail(os_error_text(err), EXIT_IO) from None

    return wrapper
