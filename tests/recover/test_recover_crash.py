"""SIGKILL a real ``ironwal recover`` after each of its fsyncs (the test-only hook
IRONWAL_TEST_KILL_AFTER_SYNC=N): every stream must read either as before the repair or as
after it, no intact entry may be lost, the killed run's undo data must stay usable, a rerun
must finish the repair exactly as an uninterrupted run does, and undoing the rerun and then
the killed run must give back the damaged root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from recover_damage import build_root, damage, snapshot

from ironwal_cli.engine import seams
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.errors import FormatError
from ironwal_cli.ops.listing import stream_names
from ironwal_cli.ops.recover import recover, undo_recover
from ironwal_cli.spec.codec import encode_head_state

SUBPROCESS_POINTS = 10  # real `python -m ironwal_cli recover` processes, spread over the fsyncs


def _damaged_root(base: Path) -> Path:
    """Streams with one damaged segment each (s: split in the active segment, o: in the older one,
    t: a torn tail with stale metadata and a stray temp file) and m, with damage in both segments."""
    root = base / "wal"
    build_root(root, compress=False)
    for name in ("o", "t", "m"):
        shutil.copytree(root / "s", root / name)
    seg = {name: StreamListing.read(root / name) for name in ("s", "o", "t", "m")}
    damage(seg["s"].segment_path(seg["s"].segment_ids[1]), "bad_crc", 2)
    damage(seg["o"].segment_path(seg["o"].segment_ids[0]), "garbage", 1)
    damage(seg["m"].segment_path(seg["m"].segment_ids[0]), "zeroed", 3)
    damage(seg["m"].segment_path(seg["m"].segment_ids[1]), "bad_magic", 1)
    tail = seg["t"].segment_path(seg["t"].segment_ids[1])
    tail.write_bytes(tail.read_bytes()[:-7])
    (root / "t" / "segments.idx").write_bytes(b"\x00" * 5)
    (root / "t" / "head.state").write_bytes(encode_head_state(seg["t"].segment_files[seg["t"].segment_ids[0]]))
    (root / "t" / "head.state.tmp").write_bytes(b"leftover")
    return root


def observe(root: Path, name: str):
    """What a reader sees: the entries up to the first damage, and the kind of that damage."""
    got = []
    try:
        for item in StreamReader(root, name, allow_gaps=True, name_is_dir=True).entries(0):
            got.append(item)
    except FormatError as err:
        return got, err.kind
    return got, None


def observe_root(root: Path) -> dict:
    return {name: observe(root, name) for name in stream_names(root)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The damaged root, what it reads as before and after an uninterrupted repair, and its fsync count."""
    base = tmp_path_factory.mktemp("crash")
    damaged = _damaged_root(base)
    done = base / "done"
    shutil.copytree(damaged, done)
    count = 0

    def hook(fd):
        nonlocal count
        count += 1

    seams.sync_hook = hook
    try:
        recover(done, quarantine=base / "done-q")
    finally:
        seams.sync_hook = None
    return damaged, observe_root(damaged), observe_root(done), snapshot(done), count


def _spread(n: int, k: int) -> list[int]:
    return sorted({1 + i * (n - 1) // (k - 1) for i in range(k)}) if n > k else list(range(1, n + 1))


def check_after_kill(root: Path, quarantine: Path, reference, kill_at: int) -> None:
    damaged, before, after, repaired_snapshot, _ = reference
    seen = observe_root(root)
    for name in ("s", "o", "t"):  # one damaged segment: the stream reads exactly as before, or as after
        assert seen[name] in (before[name], after[name]), (kill_at, name)
    # two damaged segments, each replaced atomically on its own: never less than before, nothing wrong
    entries, _ = seen["m"]
    assert entries[:len(before["m"][0])] == before["m"][0], kill_at
    assert set(entries) <= set(after["m"][0]), kill_at
    killed_runs = sorted(p for p in quarantine.iterdir() if (p / "manifest.json").exists())
    for run in killed_runs:  # the killed run's undo data is consistent with the root
        undo_recover(root, run, dry_run=True)

    rerun = recover(root, quarantine=quarantine)
    assert observe_root(root) == after, kill_at
    assert snapshot(root) == repaired_snapshot, kill_at
    assert not recover(root, dry_run=True).repairs_needed

    if rerun.run:
        undo_recover(root, rerun.run)
    for run in reversed(killed_runs):
        undo_recover(root, run)
    assert snapshot(root) == snapshot(damaged), kill_at


@pytest.mark.parametrize("point", range(SUBPROCESS_POINTS))
def test_sigkill_real_recover_process(tmp_path, reference, point):
    damaged, n_syncs = reference[0], reference[4]
    kill_at = _spread(n_syncs, SUBPROCESS_POINTS)[point]
    root, quarantine = tmp_path / "wal", tmp_path / "q"
    shutil.copytree(damaged, root)
    env = dict(os.environ, IRONWAL_TEST_KILL_AFTER_SYNC=str(kill_at))
    cmd = [sys.executable, "-m", "ironwal_cli", "recover", "-r", str(root), "--quarantine", str(quarantine)]
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    check_after_kill(root, quarantine, reference, kill_at)


def test_sigkill_after_every_fsync(tmp_path, reference, monkeypatch):
    """The same at every fsync, in forked children of this process (no interpreter start-up) that
    install the CLI's kill hook and run recover.

    A SIGKILL loses nothing the kernel holds, so fsync itself is skipped here for speed; the hook
    that kills still runs at every place recover syncs.
    """
    from ironwal_cli.engine.seams import kill_after_syncs_from_env

    monkeypatch.setattr(os, "fsync", lambda fd: None)
    monkeypatch.setattr(os, "fdatasync", lambda fd: None)

    damaged, n_syncs = reference[0], reference[4]
    assert n_syncs > 20
    for kill_at in range(1, n_syncs + 1):
        root, quarantine = tmp_path / f"wal{kill_at}", tmp_path / f"q{kill_at}"
        shutil.copytree(damaged, root)
        pid = os.fork()
        if pid == 0:  # the child: recover, which SIGKILLs itself after fsync number kill_at
            try:
                os.environ["IRONWAL_TEST_KILL_AFTER_SYNC"] = str(kill_at)
                kill_after_syncs_from_env()
                recover(root, quarantine=quarantine)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (kill_at, status)
        check_after_kill(root, quarantine, reference, kill_at)
        shutil.rmtree(root)
