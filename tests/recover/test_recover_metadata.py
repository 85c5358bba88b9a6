"""segments.idx, head.state and stray temp files: rebuilt, rewritten, removed; bytes kept; undoable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recover_damage import assert_clean, read_all, snapshot

from ironwal_cli.engine.layout import StreamLayout
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.recover import recover, undo_recover
from ironwal_cli.spec.codec import encode_head_state, encode_index

SAMPLES = Path(__file__).resolve().parents[2] / "format" / "samples"
S0, S2, S4, S9 = (f"{i:020d}.wal" for i in (0, 2, 4, 9))


@pytest.fixture(scope="module")
def three_segments(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("meta") / "wal"
    from ironwal_cli.engine.writer import WriteOptions

    for i in range(3):
        append_values(root, "s", [b"x%d" % i, b"y%d" % i], WriteOptions(max_entries_per_segment=2))
    assert sorted(p.name for p in (root / "s").iterdir()) == [S0, S2, S4, "head.state", "segments.idx"]
    return root


def _idx(root):
    return root / "s" / "segments.idx"


def _head(root):
    return root / "s" / "head.state"


DAMAGE = {
    "index-missing": lambda r: _idx(r).unlink(),
    "index-odd-size": lambda r: _idx(r).write_bytes(_idx(r).read_bytes() + b"\x01\x02\x03"),
    "index-out-of-order": lambda r: _idx(r).write_bytes(encode_index([0, 4, 2])),
    "index-missing-a-segment": lambda r: _idx(r).write_bytes(encode_index([0, 4])),
    "index-names-no-file": lambda r: _idx(r).write_bytes(encode_index([0, 2, 3, 4])),
    "head-missing": lambda r: _head(r).unlink(),
    "head-unreadable": lambda r: _head(r).write_bytes(b"\x07garbage"),
    "head-stale": lambda r: _head(r).write_bytes(encode_head_state(S2)),
    "stray-temp-files": lambda r: ((r / "s" / "head.state.tmp").write_bytes(encode_head_state(S4)),
                                   (r / "s" / (S4 + ".tmp")).write_bytes(b"half a segment")),
}


def _damage_and_recover(root: Path, source: Path, damage):
    """Copy, damage, recover: (root, snapshot of the damaged root, report, layout after); the root is clean."""
    shutil.copytree(source, root)
    damage(root)
    damaged = snapshot(root)
    report = recover(root)
    assert report.repairs_needed
    assert_clean(root)
    return root, damaged, report, StreamLayout.read(root / "s")


RESERVE = {
    "head-names-missing-file": lambda r: _head(r).write_bytes(encode_head_state(f"{9:020d}.wal")),
    "index-names-missing-file": lambda r: _idx(r).write_bytes(encode_index([0, 2, 4, 9])),
}


@pytest.mark.parametrize("name", list(RESERVE))
def test_ids_claimed_beyond_the_data_stay_reserved(tmp_path, three_segments, name):
    """The crate (and our writer) take the id named there as the active segment: never reuse ids below it."""
    root, damaged, report, layout = _damage_and_recover(tmp_path / "wal", three_segments, RESERVE[name])
    assert layout.index_ids == [0, 2, 4, 9] and layout.head_segment == S9
    assert (root / "s" / S9).read_bytes() == b""
    entries, warnings = read_all(root, "s")
    assert len(entries) == 6 and len(warnings) == 1 and "ids 6..8 are missing" in warnings[0]
    assert ("s", "ids 6..8 are lost; readers report the gap") in report.notes
    assert not recover(root, dry_run=True).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == damaged
    recover(root)
    assert append_values(root, "s", [b"next"]) == range(9, 10)


@pytest.mark.parametrize("name", list(DAMAGE))
def test_metadata_repair(tmp_path, three_segments, name):
    root, damaged, report, layout = _damage_and_recover(tmp_path / "wal", three_segments, DAMAGE[name])
    assert layout.index_ids == [0, 2, 4] and layout.head_segment == S4
    assert read_all(root, "s") == ({i: v for i, v in enumerate([b"x0", b"y0", b"x1", b"y1", b"x2", b"y2"])}, [])
    manifest = json.loads((Path(report.run) / "manifest.json").read_bytes())
    for r in manifest["removed"]:  # whatever was overwritten or removed is in quarantine, whole
        assert r["offset"] == 0 and r["sha256"] == damaged[r["source"]]
        assert (Path(report.run) / r["blob"]).stat().st_size == r["length"]
    assert not recover(root).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == damaged


def test_clean_conformance_roots_need_nothing(tmp_path):
    """Every root the crate wrote, except the one it tore itself, is left alone (no false repairs)."""
    needing = []
    for case in sorted((SAMPLES / "conformance").iterdir()):
        report = recover(case / "root", dry_run=True, quarantine=tmp_path / "q")
        if report.repairs_needed:
            needing.append(case.name)
    assert needing == ["torn-tail"]
    assert not (tmp_path / "q").exists()
