"""Power cuts: writes that reached the OS but were never synced vanish (see power_cut.py).

The promise tested, per sync mode (README, "Durability"):
  - strict: every id ``append``/``append_batch`` returned survives;
  - batch: every id up to the end of the last returned batch survives (a single ``append``
    is durable only once a later batch, a rotation or ``sync()`` covered it);
  - async: only what a rotation or an explicit ``sync()`` covered survives;
and in every mode: what survives is a prefix of what was written (ids contiguous, bytes
exact, nothing invented), damage is only at the tail, and nothing synced is lost.
"""

from __future__ import annotations

import os
import random

import pytest
from power_cut import DiskModel, PowerCut
from wal_checks import check_seals
from wal_invariants import LONG, check_stream, cli, read_until_damage

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions

CUTS = 400 if LONG else 40
KEY = "events"


def _workload(writer: StreamWriter, rng: random.Random, sent: list[bytes], mode: str) -> int:
    """Random appends until the power fails; returns how many entries the mode promises durable."""
    promised = len(sent)
    for op in range(rng.randrange(5, 40)):
        kind = rng.random()
        entries = [f"{op}-{i}-".encode() + os.urandom(rng.randrange(0, 200)) for i in range(rng.randrange(1, 30))]
        if kind < 0.3:
            entries = entries[:1]
            sent.append(entries[0])
            writer.append(entries[0])
            if mode == "strict":
                promised = len(sent)
        elif kind < 0.9:
            sent.extend(entries)
            writer.append_batch(entries)
            if mode in ("strict", "batch"):
                promised = len(sent)
        else:
            writer.sync()  # an explicit sync makes everything written so far durable, in every mode
            promised = len(sent)
    return promised


def _one_cut(tmp_path, seed: int, mode: str) -> tuple[int, int, int]:
    """One workload, one cut, the checks; returns (entries checked, entries the cut removed, recover runs)."""
    rng = random.Random(seed)
    top = tmp_path / f"cut{seed}"
    top.mkdir()
    root = top / "wal"  # created by the writer: its own directory entry must be made durable too
    options = WriteOptions(sync=mode, max_segment_size=rng.choice([600, 2000, 64 * 1024]),
                           max_entries_per_segment=rng.choice([None, 7]), hold_lock=rng.random() < 0.5)
    sent: list[bytes] = []
    promised = 0
    with DiskModel(top, rng, cut_at_sync=rng.choice([None, rng.randrange(1, 60)])) as disk:
        writer = StreamWriter(root, KEY, options)
        try:
            for _session in range(rng.randrange(1, 3)):  # a reopen in between, sometimes
                promised = max(promised, _workload(writer, rng, sent, mode))
                writer.close()
                writer = StreamWriter(root, KEY, options)
        except PowerCut:
            pass
        finally:
            writer.close()
        log = disk.cut()
    if not root.exists() or not (root / KEY).exists():
        assert promised == 0, f"{promised} promised entries lost with the stream: {log}"
        return 0, len(sent), 0
    entries = check_stream(root, KEY, sent, promised)
    check_seals(root / KEY)  # what survives of seals.idx (unsynced: cut, zeroed or kept) is true
    recovered = _continue_after(root, entries, options)
    return len(entries), len(sent) - len(entries), recovered


def _continue_after(root, entries: list[bytes], options: WriteOptions) -> int:
    """After the cut (and recover, if damaged: then verify must be clean) the stream takes new
    writes at the next id. Returns 1 when recover ran."""
    _, damage = read_until_damage(root, KEY)
    if damage is not None:
        result = cli("recover", "-r", root)
        assert result.returncode == 0, result.stderr
        again, after = read_until_damage(root, KEY)
        assert after is None and again == entries
        check_seals(root / KEY)
        result = cli("verify", "-r", root)
        assert result.returncode == 0, result.stdout + result.stderr
    with StreamWriter(root, KEY, options) as writer:
        assert writer.append(b"after the cut") == len(entries)
    check_stream(root, KEY, [*entries, b"after the cut"], len(entries) + 1, damage_ok=False)
    return int(damage is not None)


@pytest.mark.parametrize("mode", ["strict", "batch", "async"])
def test_power_cuts(fast_tmp, record_property, mode):
    checked = lost = recovered = 0
    for seed in range(CUTS):
        got, gone, fixed = _one_cut(fast_tmp, seed * 7 + len(mode), mode)
        checked += got
        lost += gone
        recovered += fixed
    record_property("count:power cuts", CUTS)
    record_property("count:entries checked after power cuts", checked)
    record_property(f"count:unpromised entries a cut removed ({mode})", lost)
    record_property("count:recover runs after power cuts", recovered)
    if mode == "async":
        assert lost > 0  # the model does cut: async must lose something somewhere
