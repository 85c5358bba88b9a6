"""segments.idx, head.state and stray temp files: rebuilt, rewritten, removed; bytes kept; undoable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recover_damage import assert_clean, read_all, snapshot

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.recover import recover, undo_recover
from ironwal_cli.spec.codec import encode_head_state, encode_index

SAMPLES = Path(__file__).resolve().parents[2] / "format" / "samples"
S0, S2, S4, S9 = (f"{i:020d}.wal" for i in (0, 2, 4, 9))


@pytest.fixture(scope="module")
def three_segments(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("meta") / "wal"
    from ironwal_cli.engine.writer.writer import WriteOptions

    for i in range(3):
        append_values(root, "s", [b"x%d" % i, b"y%d" % i], WriteOptions(max_entries_per_segment=2))
    assert sorted(p.name for p in (root / "s").iterdir()) == [S0, S2, S4, "head.state", "seals.idx", "segments.idx"]
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
    return root, damaged, report, StreamListing.read(root / "s")


RESERVE = {
    "head-names-missing-file": lambda r: _head(r).write_bytes(encode_head_state(f"{9:020d}.wal")),
    "index-names-missing-file": lambda r: _idx(r).write_bytes(encode_index([0, 2, 4, 9])),
}


def test_ids_claimed_beyond_the_data_stay_reserved(tmp_path, three_segments):
    """segments.idx and head.state both name segment 9 (a rotation whose file is gone): the crate (and
    our writer) take it as the active segment, so ids below 9 are never reused: a filler segment 6
    holds them as lost (the crate fails there and counts them)."""
    both = lambda r: (RESERVE["head-names-missing-file"](r), RESERVE["index-names-missing-file"](r))  # noqa: E731
    root, damaged, report, layout = _damage_and_recover(tmp_path / "wal", three_segments, both)
    assert layout.index_ids == [0, 2, 4, 6] and layout.head_segment == f"{6:020d}.wal"
    entries, warnings = read_all(root, "s")
    assert len(entries) == 6 and len(warnings) == 1 and "ids 6..8 are missing" in warnings[0]
    assert any(m.startswith("ids 6..8 are lost") for _, m in report.notes)
    assert not recover(root, dry_run=True).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == damaged
    recover(root)
    assert append_values(root, "s", [b"next"]) == range(9, 10)


@pytest.mark.parametrize("name", list(RESERVE))
def test_an_id_only_one_file_claims_is_no_evidence(tmp_path, three_segments, name):
    """Issue 17 item 14: one file alone naming a segment beyond the data (a flipped bit) reserves nothing;
    the next append continues at the data's end."""
    root, damaged, report, layout = _damage_and_recover(tmp_path / "wal", three_segments, RESERVE[name])
    assert layout.index_ids == [0, 2, 4] and layout.lost == []
    assert any("not taken as evidence of entries" in m for _, m in report.notes)
    assert append_values(root, "s", [b"next"]) == range(6, 7)


def test_a_flipped_bit_in_segments_idx_reserves_nothing(tmp_path, three_segments):
    """Issue 17 item 14, as filed: bit 62 of the last index id flipped."""
    root, _, report, layout = _damage_and_recover(tmp_path / "wal", three_segments,
                                                  lambda r: _idx(r).write_bytes(encode_index([0, 2, 4 | 1 << 62])))
    assert layout.index_ids == [0, 2, 4] and layout.lost == []
    assert append_values(root, "s", [b"next"]) == range(6, 7)


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
    assert needing == ["key-collision", "torn-tail"]  # key-collision: id 3 skipped inside a segment
    assert not (tmp_path / "q").exists()


def test_a_lost_middle_segment_is_recorded_not_hidden(tmp_path, three_segments):
    """Segment 2 deleted by hand: nothing to quarantine, but ids 2..3 are gone. recover rebuilds the
    index and records the loss in lost.idx; a filler segment 2 makes the crate's iterator fail there
    (it ended silently at the gap before); readers still report it."""
    root, damaged, report, layout = _damage_and_recover(tmp_path / "wal", three_segments,
                                                        lambda r: (r / "s" / S2).unlink())
    assert layout.index_ids == [0, 2, 4] and layout.lost == [(2, 4)]
    assert report.notes == [("s", "ids 2..3 are lost; the crate's iterator fails at id 2, readers report them "
                             "lost; replay resumes at id 4")]
    entries, warnings = read_all(root, "s")
    assert sorted(entries) == [0, 1, 4, 5] and "ids 2..3 are missing" in warnings[0]
    assert not recover(root).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == damaged


def test_verify_accepts_only_the_gaps_lost_idx_records(tmp_path, three_segments):
    from ironwal_cli.engine.store.lost_ids import encode_lost
    from ironwal_cli.ops.verify import verify_root

    root = tmp_path / "wal"
    shutil.copytree(three_segments, root)
    (root / "s" / S2).unlink()
    _idx(root).write_bytes(encode_index([0, 4]))

    def kinds():
        return sorted(p.kind for p in verify_root(root, jobs=1).problems)

    # the crate's iterator ends silently at that gap, recorded or not: replay_stops_silently either way
    assert kinds() == ["replay_stops_silently", "segment_gap"]
    for recorded in ([(2, 3)], [(3, 4)], [(0, 1)]):  # not the whole gap: still a problem
        (root / "s" / "lost.idx").write_bytes(encode_lost(recorded))
        assert kinds() == ["replay_stops_silently", "segment_gap"], recorded
    (root / "s" / "lost.idx").write_bytes(encode_lost([(1, 5)]))
    assert kinds() == ["replay_stops_silently"]
    (root / "s" / "lost.idx").write_bytes(b"\x01\x02\x03")
    assert kinds() == ["replay_stops_silently", "segment_gap", "unexpected_file"]
