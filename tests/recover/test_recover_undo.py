"""Undo's refusals and its idempotence; a split recover cannot make safely is refused whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recover_damage import STREAM, build_root, damage, frames_of, snapshot

from ironwal_cli.engine.layout import StreamLayout
from ironwal_cli.engine.writer import StreamWriter
from ironwal_cli.errors import FormatError
from ironwal_cli.ops.recover import recover, undo_recover


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("undo") / "wal"
    build_root(root, compress=True)
    layout = StreamLayout.read(root / STREAM)
    damage(layout.segment_path(layout.segment_ids[0]), "garbage", 2)  # ids 6..8 lost, split at 9
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


def test_undo_refuses_a_deleted_new_segment(repaired):
    root, run, _ = repaired
    (root / STREAM / f"{9:020d}.wal").unlink()  # the intact frames moved there are gone
    assert_undo_refused(root, run, "no longer as the run left it; undo refused")


def test_undo_dry_run_lists_and_changes_nothing(repaired):
    root, run, _ = repaired
    after = snapshot(root)
    report = undo_recover(root, run, dry_run=True)
    assert {a.path: a.action for a in report.actions} == {
        f"{STREAM}/{0:020d}.wal": "restore", f"{STREAM}/{9:020d}.wal": "remove",
        f"{STREAM}/segments.idx": "restore", f"{STREAM}/lost.idx": "remove"}
    assert snapshot(root) == after


def test_split_into_a_taken_name_is_refused(tmp_path, source):
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    (root / STREAM / f"{9:020d}.wal").write_bytes(b"")  # the name the split needs, holding something else
    before = snapshot(root)
    with pytest.raises(FormatError, match="exists with other content"):
        recover(root)
    assert snapshot(root) == before


def test_rerun_keeps_a_new_segment_that_already_holds_the_frames(tmp_path, source):
    """A recover killed after creating the new segment, then an append to it (it is the active one now):
    the rerun keeps it as it is, longer, cuts the damaged segment, and its undo puts back what it found."""
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    recover(root)  # segment 0 done; now damage the active segment 15 (ids 21..23), to be split at 24
    active = root / STREAM / f"{15:020d}.wal"
    damage(active, "garbage", 2)
    assert {a.path: a.action for a in recover(root, dry_run=True).actions}[f"{STREAM}/{24:020d}.wal"] == "create"
    data = active.read_bytes()  # what the killed run had done: segment 24 holds the frames after the damage
    (root / STREAM / f"{24:020d}.wal").write_bytes(
        b"".join(data[f.offset:f.end_offset] for f in frames_of(active) if f.header.start_id >= 24))
    with StreamWriter(root, STREAM) as w:  # segment 24 is the active one now
        assert w.append(b"later") == 30
    found = snapshot(root)
    report = recover(root)
    actions = {a.path: a.action for a in report.actions}
    assert actions[f"{STREAM}/{24:020d}.wal"] == "keep" and actions[f"{STREAM}/{15:020d}.wal"] == "rewrite"
    assert not recover(root, dry_run=True).repairs_needed
    undo_recover(root, report.run)
    assert snapshot(root) == found


def test_a_torn_tail_is_cut_off_by_a_copy_and_undo_puts_it_back(tmp_path):
    """Only the tail goes: the segment is replaced by a copy of its prefix (a new inode: never an
    ftruncate in place, which would make a reader's memory map of it fault with SIGBUS, issue 17
    item 5); undo puts the torn bytes back."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        for k in range(20):
            w.append(b"entry %d" % k)
    segment = StreamLayout.read(root / "s").segment_path(0)
    intact = segment.read_bytes()
    with open(segment, "ab") as f:
        f.write(b"LAWL" + b"\x01" * 20)  # a torn header
    torn, inode = segment.read_bytes(), segment.stat().st_ino
    report = recover(root)
    assert segment.read_bytes() == intact and segment.stat().st_ino != inode
    assert [(a.action, a.removed_bytes) for a in report.actions if a.path == "s/" + segment.name] == [("rewrite", 24)]
    undo_recover(root, report.run)
    assert segment.read_bytes() == torn

