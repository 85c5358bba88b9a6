"""The real CLI in a real process, without paying Python's start-up for every command.

Tests that run hundreds of commands against planted files (the hostile corpus) spend most of their
time starting interpreters and importing typer, rich and the package. ``run_forked`` instead asks
one server process per test process, which has imported all of that once, to ``fork()`` a child
that runs ``ironwal_cli.cli.launcher.main()`` with the given arguments: the child is a process of its
own (own exit code, own stdin, stdout and stderr as files, SIGKILLed when it hangs past its
timeout, its own peak RSS from ``wait4``), it only skips the interpreter start and the imports.
The console script itself and ``python -m ironwal_cli`` stay covered by every other test that
runs a subprocess.

The peak RSS of a forked child counts the pages it shares with the server (tens of MB): a bound
measured this way is stricter than the subprocess's, never looser. Anything read from the
environment at import time (``IRONWAL_TEST_CRASH_AT``) would be the server's, so a command whose
``IRONWAL_*`` variables differ from the server's is run as a plain subprocess instead
(``forkable``).
"""

from __future__ import annotations

import atexit
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent


class Forked(NamedTuple):
    returncode: int  # negative: killed by that signal (as subprocess reports it)
    stdout: bytes
    stderr: bytes
    peak_rss: int  # bytes
    seconds: float
    timed_out: bool


def _ironwal_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("IRONWAL_")}


class _Server:
    """One forking server (a child of this test process), talking JSON lines over two pipes."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self.proc = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                                      "import cli_forkserver; cli_forkserver.serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env)
        self.scratch = Path(tempfile.mkdtemp(prefix="ironwal-forkserver-"))
        atexit.register(self.close)

    def run(self, args: list[str], timeout: float, cwd: str | None) -> Forked:
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {"args": args, "timeout": timeout, "cwd": cwd or os.getcwd(), "stdout": str(out),
                   "stderr": str(err)}
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the CLI fork server died (exit {self.proc.poll()})")
        done = json.loads(line)
        return Forked(done["rc"], out.read_bytes(), err.read_bytes(), done["peak"], done["seconds"],
                      done["timed_out"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        for name in ("stdout", "stderr"):
            (self.scratch / name).unlink(missing_ok=True)
        try:
            self.scratch.rmdir()
        except OSError:
            pass


_server: _Server | None = None


def forkable() -> bool:
    """Whether a forked child would see the environment a new process would (see the module doc)."""
    return _server is None or _ironwal_env(_server.env) == _ironwal_env(dict(os.environ))


def run_forked(args: list[str], timeout: float, cwd: str | None = None) -> Forked:
    """``ironwal ARGS`` in a forked child of the server: stdin empty, SIGKILLed after ``timeout`` s."""
    global _server
    if _server is None or _server.proc.poll() is not None:
        _server = _Server()
    return _server.run([os.fspath(a) for a in args], timeout, cwd)


# ----- the server side ---------------------------------------------------------------------------


def _preimport() -> None:
    """Everything a command imports, except the CLI's command modules: importing those registers
    their commands on the app, which the child's own start (``entry.main``) must do as usual."""
    import importlib
    import pkgutil

    import ironwal_cli
    from ironwal_cli.cli.launcher import COMMAND_MODULES

    skip = {"ironwal_cli.__main__", *(f"ironwal_cli.cli.{m}" for m in (*COMMAND_MODULES.values(), "main"))}
    for info in pkgutil.walk_packages(ironwal_cli.__path__, "ironwal_cli."):
        if info.name not in skip and not info.name.startswith("ironwal_cli.ops.backup"):
            importlib.import_module(info.name)
    import lz4.frame  # noqa: F401
    import typer  # noqa: F401


def _child(request: dict) -> None:
    """In the forked child: become ``ironwal ARGS`` and never return."""
    code = 70
    try:
        os.chdir(request["cwd"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        os.closerange(3, 256)  # the server's pipes are not the command's
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))  # no request bytes
        sys.argv = ["ironwal", *request["args"]]
        from ironwal_cli.cli.launcher import main

        code = 0
        try:
            main()
        except SystemExit as done:
            if done.code is None or isinstance(done.code, int):
                code = done.code or 0
            else:
                sys.stderr.write(f"{done.code}\n")
                code = 1
        except BaseException:  # what the interpreter would print for an uncaught exception
            import traceback

            traceback.print_exc()
            code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(code)


def serve() -> None:
    """Read one request per line on stdin, fork a child per request, answer on stdout."""
    import select
    import signal

    _preimport()
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    for line in requests:
        request = json.loads(line)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        pidfd = os.pidfd_open(pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], request["timeout"])
            if not ready:
                os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
        finally:
            os.close(pidfd)
        answers.write(json.dumps({"rc": os.waitstatus_to_exitcode(status), "peak": usage.ru_maxrss * 1024,
                                  "seconds": time.monotonic() - started, "timed_out": not ready}).encode() + b"\n")
        answers.flush()
