"""The fork server that runs the hostile corpus's commands (tests/cli_forkserver.py) answers as a
new ``python -m ironwal_cli`` process would: the same exit codes, stdout and stderr byte for byte,
a hang ends in TimeoutExpired, a balloon shows in the peak RSS, and a changed ``IRONWAL_*``
environment goes to a real subprocess. Without these, a harness bug could make every hostile case
pass."""

from __future__ import annotations

import os
import subprocess

import pytest
from cli_forkserver import forkable, run_forked
from hostile_run import bounded
from wal_invariants import cli

from ironwal_cli.engine.writer.writer import StreamWriter


@pytest.fixture
def wal(tmp_path):
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append_batch([b"a", b"", b"\x00\xffb\n"])
    return root


@pytest.mark.parametrize("args", [["ls"], ["tail", "s", "-F", "jsonl"], ["get", "s", "9"], ["get", "s", "-1"],
                                  ["verify", "--json"], ["nonsense"], ["tail", "nosuch"], ["--help"]])
def test_a_forked_command_answers_as_a_new_process(wal, args):
    forked = run_forked([*args, "-r", wal], timeout=30)
    real = cli(*args, "-r", wal)
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout, real.stderr)
    assert not forked.timed_out


def test_a_hang_is_killed_and_reported(wal):
    with pytest.raises(subprocess.TimeoutExpired):
        bounded("tail", "s", "-f", "-r", wal, timeout=1.5)  # follows for ever
    assert bounded("ls", "-r", wal).returncode == 0  # the server goes on after a kill


def test_the_peak_rss_is_the_childs_own(wal, tmp_path):
    small = bounded("ls", "-r", wal)
    big = tmp_path / "big"
    with StreamWriter(big, "s") as w:
        w.append_batch([b"x" * (64 << 20)])  # one 64 MiB entry: get holds it whole
    large = bounded("get", "s", "0", "-r", big)
    assert large.returncode == 0 and len(large.stdout) == (64 << 20) + 1
    assert 0 < small.peak_rss < large.peak_rss - (60 << 20), (small.peak_rss, large.peak_rss)


def test_a_changed_environment_runs_a_real_subprocess(wal, monkeypatch):
    run_forked(["ls", "-r", wal], timeout=30)  # the server runs, with this environment
    assert forkable()
    monkeypatch.setenv("IRONWAL_MAX_FRAME_BYTES", "1")
    assert not forkable()  # the server imported the package under another environment
    run = bounded("ls", "-r", wal)
    assert run.returncode == 0 and b"s" in run.stdout
    os.environ.pop("IRONWAL_MAX_FRAME_BYTES")
    assert forkable()
