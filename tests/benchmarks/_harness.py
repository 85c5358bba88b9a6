"""Running one measured child process: wall time and its own peak RSS (through GNU time).

Every figure of the table is a separate child, so each peak RSS belongs to that figure alone.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float | None
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    cpu_s: float | None = None  # user + system seconds of the measured command (GNU time)

    def json(self) -> dict:
        return json.loads(self.stdout)


def child_env(work: Path) -> dict:
    """The environment of every measured child: bytecode cached (in ``work``), as on a user's machine.

    Without this, a PYTHONDONTWRITEBYTECODE=1 environment compiles every module of every run
    from source, which is no one's real start-up time.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


ENV: dict | None = None  # set by run.py once the work dir exists


def ironwal_cmd() -> list[str]:
    """The installed console script beside this Python, else ``python -m ironwal_cli``."""
    script = Path(sys.executable).with_name("ironwal")
    if script.exists():
        return [str(script)]
    found = shutil.which("ironwal")
    return [found] if found else [sys.executable, "-m", "ironwal_cli"]


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


class _PeakRss:
    """Peak RSS of one command, through GNU time's ``%M``.

    ``wait4``'s ru_maxrss is no good here: a child started by vfork/exec inherits the high-water
    mark of this (bigger) parent. GNU time forks from a tiny process, so its figure is the
    command's own. Without GNU time, the figure is left out (None).
    """

    def __init__(self, cmd: list[str]):
        self.file = None
        self.cmd = cmd
        if GNU_TIME:
            import tempfile

            fd, self.file = tempfile.mkstemp(prefix="ironwal-rss-")
            os.close(fd)
            self.cmd = [GNU_TIME, "-f", "%M %U %S", "-o", self.file, *cmd]

    def read(self) -> tuple[float | None, float | None]:
        """(peak RSS MB, CPU seconds: user + system) of the command, or Nones."""
        if not self.file:
            return None, None
        try:
            with open(self.file) as f:
                rss, user, system = f.read().split()[-3:]
            return int(rss) / 1024, float(user) + float(system)
        except ValueError:
            return None, None
        finally:
            os.unlink(self.file)


def run_pipeline(producer: list[str], consumer: list[str], *, measure: str = "consumer") -> Run:
    """``producer | consumer``: wall time of the whole pipe; peak RSS and CPU of the ``measure`` side."""
    producer_rss = _PeakRss(producer) if measure == "producer" else None
    consumer_rss = _PeakRss(consumer) if measure == "consumer" else None
    t0 = time.perf_counter()
    p1 = subprocess.Popen(producer_rss.cmd if producer_rss else producer, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    p2 = subprocess.Popen(consumer_rss.cmd if consumer_rss else consumer, stdin=p1.stdout,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    p1.stdout.close()
    err = p2.stderr.read() + p1.stderr.read()
    code = p2.wait() or p1.wait()
    p1.wait()
    seconds = time.perf_counter() - t0
    p1.stderr.close()
    p2.stderr.close()
    if code != 0:
        raise RuntimeError(f"{' '.join(producer)} | {' '.join(consumer)} exited {code}: "
                           f"{err.decode(errors='replace')[-500:]}")
    mb, cpu = (producer_rss or consumer_rss).read()
    return Run(seconds, mb, code, b"", err, cpu)


def run(cmd: list[str], *, stdin=None, stdout=None, env: dict | None = None, check: bool = True) -> Run:
    """Run ``cmd`` (``stdin``/``stdout`` may be open files): wall time, peak RSS, output."""
    rss = _PeakRss(cmd)
    t0 = time.perf_counter()
    proc = subprocess.Popen(rss.cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                            stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env or ENV)
    out = proc.stdout.read() if stdout is None else b""
    err = proc.stderr.read()
    proc.wait()
    seconds = time.perf_counter() - t0
    for f in (proc.stdout, proc.stderr):
        if f is not None:
            f.close()
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    mb, cpu = rss.read()
    return Run(seconds, mb, proc.returncode, out, err, cpu)


def worker(case: str, *args, tree: str | None = None) -> Run:
    """Run a library-level case of ``_worker.py`` in its own process; it prints JSON. ``tree``: a
    directory holding another ``ironwal_cli`` (say the base commit's, from ``git archive``) that
    the case imports instead of this checkout's, for before/after ratios measured in one run."""
    env = None
    if tree is not None:
        env = dict(ENV or os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    return run([sys.executable, str(WORKER), case, *map(str, args)], env=env)


def iwref_cmd() -> list[str] | None:
    """The real crate's driver (``../shared/refcrate/iwref``, or ``IRONWAL_IWREF``), None where absent."""
    path = Path(os.environ.get("IRONWAL_IWREF") or HERE.parents[2] / "shared" / "refcrate" / "iwref")
    return [str(path)] if path.is_file() and os.access(path, os.X_OK) else None


def median_wall(cmd: list[str], runs: int, *, warm: bool = True,
                with_rss: bool = True) -> tuple[float, float, float | None]:
    """(median wall seconds, median CPU seconds, peak RSS MB) of a short command.

    Timed bare (no GNU time in between); CPU is the child's user + system time, which waiting
    for a busy machine's CPU or disk does not inflate; the RSS comes from one more run.
    """
    import resource

    times, cpu = [], []
    if warm:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True, env=ENV)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True, env=ENV)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(times), statistics.median(cpu), run(cmd).peak_rss_mb if with_rss else None


def ironwal_exists(command: str) -> bool:
    """Whether this checkout's CLI has ``command`` (verify and recover are built in parallel)."""
    r = run([*ironwal_cmd(), command, "--help"], check=False)
    return r.returncode == 0
