"""A printed id is a durable promise: in strict and batch modes ``append_from`` yields a batch's
ids only after the segment holding it was synced (nothing written after that sync)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from ironwal_cli.engine import seams
from ironwal_cli.engine.writer.writer import WriteOptions
from ironwal_cli.ops.append import append_from, append_values


def synced_sizes(monkeypatch) -> dict[str, int]:
    """{path: file size at its latest sync}, kept up to date through the sync hook."""
    sizes: dict[str, int] = {}

    def hook(fd: int) -> None:
        sizes[os.readlink(f"/proc/self/fd/{fd}")] = os.fstat(fd).st_size

    monkeypatch.setattr(seams, "sync_hook", hook)
    return sizes


def unsynced(stream_dir: Path, sizes: dict[str, int]) -> list[str]:
    """Segment files holding bytes that no sync has covered yet."""
    return [p.name for p in stream_dir.glob("*.wal") if sizes.get(str(p.resolve()), -1) != p.stat().st_size]


@pytest.mark.parametrize("mode", ["strict", "batch"])
def test_ids_are_yielded_only_after_their_sync(root, monkeypatch, mode):
    sizes = synced_sizes(monkeypatch)
    options = WriteOptions(sync=mode, max_segment_size=300)  # rotations in between, too
    with tempfile.TemporaryFile() as f:
        f.write(b"".join(b"entry %03d\n" % i for i in range(40)))
        f.seek(0)
        seen = []
        for ids in append_from(root, "s", f.fileno(), batch_size=3, options=options):
            assert unsynced(root / "s", sizes) == [], ids
            seen.extend(ids)
    assert seen == list(range(40))
    assert len(list((root / "s").glob("*.wal"))) > 1


@pytest.mark.parametrize("mode", ["strict", "batch"])
def test_values_are_synced_before_their_ids_return(root, monkeypatch, mode):
    sizes = synced_sizes(monkeypatch)
    for values in ([b"one"], [b"two", b"three"]):
        append_values(root, "s", values, WriteOptions(sync=mode))
        assert unsynced(root / "s", sizes) == []


def test_async_does_not_sync_appends(root, monkeypatch):
    sizes = synced_sizes(monkeypatch)
    append_values(root, "s", [b"one", b"two"], WriteOptions(sync="async"))
    assert unsynced(root / "s", sizes) == ["00000000000000000000.wal"]
