"""Running the real CLI against a planted file, with bounds that make a hang or a balloon fail.

``bounded`` runs ``ironwal ARGS`` in a process of its own with a timeout (a hang raises
``subprocess.TimeoutExpired``: the test fails instead of hanging CI) and measures that process's
peak resident memory: a child forked by the CLI fork server (tests/cli_forkserver.py: a real
process that skips only the interpreter's start-up; ``wait4`` gives its own peak RSS), or, when
``env`` changes what the package reads at import, ``python -m ironwal_cli`` measured with
``getrusage(RUSAGE_CHILDREN)`` in a fresh process of its own, so other children never count.
Bounds are generous (a loaded 2-core CI): they catch a command that reads a 1 GiB planted file
whole or decodes an LZ4 bomb, not a slow machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import NamedTuple

from cli_forkserver import forkable, run_forked
from wal_invariants import CLI

PEAK_RSS_LIMIT = 300 << 20  # bytes: "no command uses more than a few hundred MB"
TIME_LIMIT = 60.0  # seconds, per command

_MEASURE = """
import json, resource, subprocess, sys, time
args = json.loads(sys.argv[1])
t = time.monotonic()
done = subprocess.run(args["cmd"], stdin=subprocess.DEVNULL, capture_output=True, timeout=args["timeout"])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux reports KiB
sys.stdout.buffer.write(json.dumps({"rc": done.returncode, "peak": peak, "seconds": time.monotonic() - t,
                                    "stdout": done.stdout.decode("latin-1"),
                                    "stderr": done.stderr.decode("latin-1")}).encode())
"""


_EXCEPTION_LINE = re.compile(rb"^\w*(Error|Exception|Interrupt): ", re.M)  # the last line of a traceback


class Run(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes
    peak_rss: int
    seconds: float


def bounded(*args, timeout: float = TIME_LIMIT, env: dict | None = None) -> Run:
    """Run ``ironwal ARGS``; TimeoutExpired past ``timeout``. Returns its output and peak RSS."""
    cmd = [*CLI, *map(os.fspath, args)]
    if env is None and forkable():
        done = run_forked(list(args), timeout)
        if done.timed_out:
            raise subprocess.TimeoutExpired(cmd, timeout, done.stdout, done.stderr)
        return Run(done.returncode, done.stdout, done.stderr, done.peak_rss, done.seconds)
    spec = json.dumps({"cmd": cmd, "timeout": timeout})
    out = subprocess.run([sys.executable, "-c", _MEASURE, spec], capture_output=True, timeout=timeout + 30,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:  # the child timed out (TimeoutExpired inside the measuring process)
        raise subprocess.TimeoutExpired(cmd, timeout, out.stdout, out.stderr)
    r = json.loads(out.stdout)
    return Run(r["rc"], r["stdout"].encode("latin-1"), r["stderr"].encode("latin-1"), r["peak"], r["seconds"])


def assert_orderly(run: Run, codes: set[int]) -> None:
    """An exit code of the README's table that the case allows, at most one error line and no
    traceback, within the memory bound."""
    assert run.returncode in codes, (run.returncode, run.stderr[-2000:])
    assert b"Traceback" not in run.stderr and not _EXCEPTION_LINE.search(run.stderr), run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith(b"ironwal: error:")]
    assert len(errors) <= 1, run.stderr
    assert run.peak_rss < PEAK_RSS_LIMIT, f"peak RSS {run.peak_rss >> 20} MiB"
