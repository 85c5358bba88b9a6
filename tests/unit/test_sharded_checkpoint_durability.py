"""A checkpoint never names an id that is not durable: shards are synced before the record is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ironwal_cli
from ironwal_cli.engine import seams
from ironwal_cli.engine.writer.writer import WriteOptions


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """Paths of every fsync/fdatasync, in order (through the engine's sync hook)."""
    seen: list[str] = []
    monkeypatch.setattr(seams, "sync_hook", lambda fd: seen.append(os.readlink(f"/proc/self/fd/{fd}")))
    return seen


def test_async_shards_are_synced_before_the_record_and_head(root: Path, synced):
    options = WriteOptions(sync="async", max_segment_size=64)
    keys = [f"k{i}".encode() for i in range(12)]
    for key in keys:
        ironwal_cli.append_keyed(root, key, [b"value-" + key], shards=2, options=options)
    synced.clear()
    info = ironwal_cli.create_checkpoint(root, b"cut", shards=2)
    segments = sorted(str(p) for p in root.glob("shard_*/*.wal"))
    log_sync = synced.index(str(root / "checkpoints.log"))
    assert set(segments) <= set(synced[:log_sync])  # every segment synced before the record
    assert any(p.endswith("HEAD.tmp") for p in synced[log_sync:])  # HEAD after the record
    assert sum(info.offsets) == len(keys)
    assert list(info.offsets) == [len(list(ironwal_cli.StreamReader(root, f"shard_{s:02d}").entries(0)))
                                  for s in range(2)]


def test_compaction_syncs_the_archive_before_replacing_the_log(root: Path, synced):
    root.mkdir()
    for name in (b"a", b"b", b"c"):
        ironwal_cli.create_checkpoint(root, name, shards=1)
    synced.clear()
    result = ironwal_cli.compact_checkpoints(root, 1)
    archive = str(result.archive)
    new_log = str(root / "checkpoints.log.tmp")
    assert archive in synced and new_log in synced
    assert synced.index(archive) < synced.index(new_log)
    assert [c.checkpoint_id for c in result.dropped] == [b"a", b"b"]
