"""The damage matrix of issue 4: every kind, at the first, a middle and the last frame, raw and LZ4,
in the active and in an older segment. After recover: every intact entry at its id, the quarantine
holds exactly the removed bytes, the root is clean, a second run does nothing, undo is byte-exact."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from recover_damage import (
    KINDS,
    POSITIONS,
    STREAM,
    assert_clean,
    build_root,
    damage,
    frames_of,
    independent_read,
    intact_ids,
    read_all,
    snapshot,
)

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.ops.recover import recover, undo_recover

_built: dict[bool, tuple[Path, dict]] = {}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """One undamaged root per frame type, copied for each case (building is the slow part)."""
    def get(compress: bool):
        if compress not in _built:
            root = tmp_path_factory.mktemp("pristine") / ("lz4" if compress else "raw")
            _built[compress] = (root, build_root(root, compress))
        return _built[compress]
    return get


CASES = [(k, p, c, s) for k in KINDS for p in POSITIONS for c in (False, True) for s in ("older", "active")]
matrix = pytest.mark.parametrize("kind,position,compress,segment", CASES,
                                 ids=[f"{k}-{p}-{'lz4' if c else 'raw'}-{s}" for k, p, c, s in CASES])


def _ids_in(messages: list[str], pattern: str) -> set[int]:
    """Every id of the ranges ``a..b`` (inclusive) that the messages name."""
    found = set()
    for message in messages:
        a, b = map(int, re.search(pattern, message).groups())
        found.update(range(a, b + 1))
    return found


def _copy(tmp_path: Path, pristine, compress: bool, segment: str):
    """A fresh copy of the pristine root: (root, entries written, layout, path of the segment to damage)."""
    source, written = pristine(compress)
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    layout = StreamListing.read(root / STREAM)
    assert len(layout.segment_ids) == 2
    return root, written, layout, layout.segment_path(layout.segment_ids[0 if segment == "older" else 1])


@matrix
def test_recover_matrix(tmp_path, pristine, kind, position, compress, segment):
    root, written, layout, seg = _copy(tmp_path, pristine, compress, segment)
    frames = {p: frames_of(p) for p in map(layout.segment_path, layout.segment_ids)}
    if compress:
        assert all(f.header.frame_type == 1 for f in frames[seg])
    dmg = damage(seg, kind, POSITIONS[position])
    damaged = seg.read_bytes()
    intact = intact_ids(root, written, dmg, frames)
    damaged_snapshot = snapshot(root)
    plan = recover(root, dry_run=True)
    assert plan.repairs_needed and plan.run is None
    assert snapshot(root) == damaged_snapshot and not (root.parent / "wal.quarantine").exists()

    report = recover(root)
    assert report.repairs_needed and report.run
    run = Path(report.run)
    assert run.parent == root.parent / "wal.quarantine"

    # every intact entry, at its original id; nothing else
    entries, warnings = read_all(root, STREAM)
    assert entries == intact
    if not compress:  # and so says a reader that shares no code with ours
        assert independent_read(root / STREAM) == intact
    # gaps are reported, never over an intact id, and recover's notes name exactly what readers report
    reported = _ids_in(warnings, r"ids (\d+)\.\.(\d+) are missing")
    assert not reported & set(intact)
    assert {i for i in written if i not in intact and i < max(intact)} <= reported
    assert _ids_in([m for _, m in report.notes if " are lost" in m], r"ids (\d+)\.\.(\d+) are lost") == reported

    # the quarantine holds exactly the removed bytes
    manifest = json.loads((run / "manifest.json").read_bytes())
    assert manifest["state"] == "complete"
    seg_rel = f"{STREAM}/{seg.name}"
    seg_removed = [r for r in manifest["removed"] if r["source"] == seg_rel]
    assert seg_removed
    for r in manifest["removed"]:
        blob = (run / r["blob"]).read_bytes()
        assert len(blob) == r["length"] and hashlib.sha256(blob).hexdigest() == r["sha256"]
    for r in seg_removed:
        assert (run / r["blob"]).read_bytes() == damaged[r["offset"]:r["offset"] + r["length"]]
    damaged_file = next(f for f in manifest["files"] if f["path"] == seg_rel)
    assert damaged_file["before"] == {"size": len(damaged), "sha256": hashlib.sha256(damaged).hexdigest()}
    # exactly the damaged bytes were removed: the frames the damage hit (or the bytes it added), no more
    assert [(r["offset"], r["offset"] + r["length"]) for r in seg_removed] == [dmg.removed]

    assert_clean(root)
    second = recover(root)
    assert not second.repairs_needed and second.run is None

    # the writer appends after the repair without reusing an id a reader has seen
    with StreamWriter(root, STREAM) as w:
        new_id = w.append(b"after")
    assert new_id > max(intact)
    entries, _ = read_all(root, STREAM)
    assert entries[new_id] == b"after"


@matrix
def test_recover_then_undo_is_byte_identical(tmp_path, pristine, kind, position, compress, segment):
    root, _, _, seg = _copy(tmp_path, pristine, compress, segment)
    damage(seg, kind, POSITIONS[position])
    before = snapshot(root)
    report = recover(root)
    assert snapshot(root) != before
    undo_recover(root, report.run)
    assert snapshot(root) == before
