"""Undo's refusals and its idempotence; a split recover cannot make safely is refused whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recover_damage import STREAM, build_root, damage, snapshot

from ironwal_cli.engine.layout import StreamLayout
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
        f"{STREAM}/segments.idx": "restore"}
    assert snapshot(root) == after


def test_split_into_a_taken_name_is_refused(tmp_path, source):
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    (root / STREAM / f"{9:020d}.wal").write_bytes(b"")  # the name the split needs, holding something else
    before = snapshot(root)
    with pytest.raises(FormatError, match="exists with other content"):
        recover(root)
    assert snapshot(root) == before
