"""Progress of the long commands (issue 14.10): ``verify`` and ``recover`` show a bar with an ETA
on stderr, by default only on a terminal, forced with ``--progress``, off with ``--no-progress``;
stdout and the exit code never change with it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.recover import recover


@pytest.fixture
def wal(tmp_path: Path) -> Path:
    root = tmp_path / "wal"
    for i in range(3):
        append_values(root, f"s{i}", [b"x" * 100] * 200)
    return root


def ironwal(*args, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    env["COLUMNS"] = "100"
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *map(str, args)], stdout=subprocess.PIPE,
                          stderr=stderr, env=env, timeout=60)


@pytest.mark.parametrize("command", [["verify"], ["recover", "--full"], ["recover", "-n"]], ids=" ".join)
def test_progress_flag_forces_a_bar_with_an_eta_and_no_progress_none(wal, command):
    quiet = ironwal(*command, "-r", wal, "--no-progress")
    shown = ironwal(*command, "-r", wal, "--progress")
    default = ironwal(*command, "-r", wal)  # stderr is a pipe here: no bar
    assert quiet.returncode == shown.returncode == default.returncode == 0
    assert quiet.stdout == shown.stdout == default.stdout
    assert quiet.stderr == default.stderr == b""
    assert command[0].encode() in shown.stderr and b"ETA" in shown.stderr


def test_the_bar_is_shown_by_default_on_a_terminal(wal):
    master, slave = pty.openpty()
    try:
        proc = ironwal("recover", "--full", "-r", wal, stderr=slave)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    assert proc.returncode == 0
    assert b"recover" in seen and b"ETA" in seen


@pytest.mark.parametrize("full", [True, False])
def test_recover_reports_progress_up_to_every_byte_of_the_segments(wal, full):
    calls: list[tuple[int, int]] = []
    recover(wal, full=full, on_progress=lambda done, total: calls.append((done, total)))
    total = sum(p.stat().st_size for p in wal.glob("*/*.wal"))
    assert len(calls) == 3  # one segment per stream, read or (sealed) skipped
    assert all(t == total for _, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1] == (total, total)
