"""Undo's refusals and its idempotence; a split recover cannot make safely is refused whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recover_damage import STREAM, build_root, damage, snapshot

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import FormatError
from ironwal_cli.ops.recover import recover, undo_recover


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("undo") / "wal"
    build_root(root, compress=True)
    layout = StreamListing.read(root / STREAM)
    damage(layout.segment_path(layout.segment_ids[0]), "garbage", 2)  # ids 6..8 lost: filler frames there
    return root


@pytest.fixture
def repaired(tmp_path, source):
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    before = snapshot(root)
    report = recover(root)
    return root, Path(report.run), before


def assert_undo_refused(root: Path, run: Path, match: str) -> None:
    now = snapshot(root)
    with pytest.raises(FormatError, match=match):
        undo_recover(root, run)
    assert snapshot(root) == now


def test_undo_twice_is_harmless(repaired):
    root, run, before = repaired
    undo_recover(root, run)
    assert snapshot(root) == before
    undo_recover(root, run)  # everything already as before: nothing to do, nothing refused
    assert snapshot(root) == before
    assert json.loads((run / "manifest.json").read_bytes())["state"] == "undone"


def test_undo_refuses_altered_quarantine(repaired):
    root, run, _ = repaired
    manifest = json.loads((run / "manifest.json").read_bytes())
    blob = run / manifest["removed"][0]["blob"]
    blob.write_bytes(b"X" + blob.read_bytes()[1:])
    assert_undo_refused(root, run, "quarantined bytes missing or altered")


def test_undo_refuses_a_changed_repaired_segment(repaired):
    root, run, _ = repaired
    with open(root / STREAM / f"{0:020d}.wal", "ab") as f:  # the segment the run rewrote, changed since
        f.write(b"x")
    assert_undo_refused(root, run, "changed since the recover run; undo refused")


def test_undo_dry_run_lists_and_changes_nothing(repaired):
    root, run, _ = repaired
    after = snapshot(root)
    report = undo_recover(root, run, dry_run=True)
    assert {a.path: a.action for a in report.actions} == {
        f"{STREAM}/{0:020d}.wal": "restore", f"{STREAM}/lost.idx": "remove",
        f"{STREAM}/seals.idx": "restore"}  # the seals this recover added go too
    assert snapshot(root) == after


def test_a_torn_tail_is_cut_off_by_a_copy_and_undo_puts_it_back(tmp_path):
    """Only the tail goes: the segment is replaced by a copy of its prefix (a new inode: never an
    ftruncate in place, which would make a reader's memory map of it fault with SIGBUS, issue 17
    item 5); undo puts the torn bytes back."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        for k in range(20):
            w.append(b"entry %d" % k)
    segment = StreamListing.read(root / "s").segment_path(0)
    intact = segment.read_bytes()
    with open(segment, "ab") as f:
        f.write(b"LAWL" + b"\x01" * 20)  # a torn header
    torn, inode = segment.read_bytes(), segment.stat().st_ino
    report = recover(root)
    assert segment.read_bytes() == intact and segment.stat().st_ino != inode
    assert [(a.action, a.removed_bytes) for a in report.actions if a.path == "s/" + segment.name] == [("rewrite", 24)]
    undo_recover(root, report.run)
    assert segment.read_bytes() == torn

