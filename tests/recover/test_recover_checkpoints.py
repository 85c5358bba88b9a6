"""Sharded roots: a torn or corrupt checkpoints.log is cut to its intact records, HEAD rewritten."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from recover_damage import assert_clean, snapshot

from ironwal_cli.ops.recover import recover, undo_recover
from ironwal_cli.sharded.repair import scan_log
from ironwal_cli.spec.codec import decode_head, encode_head

CASE = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance" / "sharded-async-offsets" / "root"
IDS = [b"after-singles", b"after-batch", b"after-reopen"]  # records at offsets 0, 54, 106; HEAD: after-reopen
RECORDS = [(0, 54), (54, 52), (106, 53)]


def _log(root: Path) -> Path:
    return root / "checkpoints.log"


def _flip(root: Path, offset: int) -> None:
    data = bytearray(_log(root).read_bytes())
    data[offset] ^= 0x10
    _log(root).write_bytes(bytes(data))


# name: (damage, intact ids left, expected HEAD, damaged byte range of the log or None)
CASES = {
    "torn-last-record": (lambda r: _log(r).write_bytes(_log(r).read_bytes()[:130]), IDS[:2], IDS[1], (106, 130)),
    "corrupt-middle-record": (lambda r: _flip(r, 54 + 20), [IDS[0], IDS[2]], IDS[2], (54, 106)),
    "bad-magic-first-record": (lambda r: _flip(r, 0), IDS[1:], IDS[2], (0, 54)),
    "zeros-after-last": (lambda r: _log(r).write_bytes(_log(r).read_bytes() + bytes(30)), IDS, IDS[2], (159, 189)),
    "head-missing": (lambda r: (r / "HEAD").unlink(), IDS, IDS[2], None),
    "head-unreadable": (lambda r: (r / "HEAD").write_bytes(b"\xff\xff\x01"), IDS, IDS[2], None),
    "head-names-lost-checkpoint": (lambda r: (r / "HEAD").write_bytes(encode_head(b"gone")), IDS, IDS[2], None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_checkpoint_repair(tmp_path, name):
    damage_fn, intact, head, damaged_range = CASES[name]
    root = tmp_path / "wal"
    shutil.copytree(CASE, root)
    damage_fn(root)
    damaged_log = _log(root).read_bytes()
    before = snapshot(root)
    assert recover(root, dry_run=True).repairs_needed
    report = recover(root)
    assert [r.checkpoint.checkpoint_id for r in scan_log(_log(root).read_bytes())] == intact
    assert all(r.checkpoint is not None for r in scan_log(_log(root).read_bytes()))
    assert decode_head((root / "HEAD").read_bytes()) == head
    manifest = json.loads((Path(report.run) / "manifest.json").read_bytes())
    removed = [r for r in manifest["removed"] if r["source"] == "checkpoints.log"]
    if damaged_range is None:
        assert not removed
    else:
        [r] = removed
        a, b = damaged_range
        assert (r["offset"], r["length"]) == (a, b - a)
        blob = (Path(report.run) / r["blob"]).read_bytes()
        assert blob == damaged_log[a:b] and hashlib.sha256(blob).hexdigest() == r["sha256"]
    assert_clean(root)
    assert not recover(root).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == before


def test_head_removed_when_no_checkpoint_survives(tmp_path):
    root = tmp_path / "wal"
    shutil.copytree(CASE, root)
    _log(root).write_bytes(b"CKPT" + bytes(20))
    report = recover(root)
    assert _log(root).read_bytes() == b"" and not (root / "HEAD").exists()
    assert {a.path: a.action for a in report.actions} == {"checkpoints.log": "rewrite", "HEAD": "delete"}


def test_stream_arguments_leave_checkpoint_files_alone(tmp_path):
    root = tmp_path / "wal"
    shutil.copytree(CASE, root)
    (root / "HEAD").unlink()
    assert not recover(root, ["shard_00"], dry_run=True).repairs_needed
    assert recover(root, dry_run=True).repairs_needed


def test_ids_a_checkpoint_covers_are_never_reused(tmp_path):
    """shard_01's last frame (ids 5..7) is torn, but checkpoint after-reopen covers ids below 8
    (the crate records unsynced ids): recover keeps 5..7 reserved with filler frames (the crate's
    iterator fails there, it counts them), so the next append gets id 8."""
    from recover_damage import read_all

    from ironwal_cli.ops.append import append_values

    root = tmp_path / "wal"
    shutil.copytree(CASE, root)
    seg = root / "shard_01" / f"{0:020d}.wal"
    seg.write_bytes(seg.read_bytes()[:250 + 40])
    before = snapshot(root)
    report = recover(root)
    assert not (root / "shard_01" / f"{8:020d}.wal").exists()  # the fillers end segment 0
    assert ("shard_01", "ids 5..7 are lost; the crate's iterator fails at id 5, readers report them lost; "
            "replay resumes at id 8") in report.notes
    entries, warnings = read_all(root, "shard_01")
    assert sorted(entries) == [0, 1, 2, 3, 4] and "ids 5..7 are missing" in warnings[0]
    assert_clean(root)
    assert not recover(root).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == before
    recover(root)
    assert append_values(root, "shard_01", [b"next"]) == range(8, 9)
