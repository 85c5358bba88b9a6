"""``recover --undo`` acts only inside the root it is run for (issue 17 item 1).

The manifest lives outside the root, where anyone may edit it, and a symbolic link may be
planted in the root after the run. Each attack below used to delete or overwrite a file
outside the root (or to follow a planted link) with exit 0. Now the whole undo is refused
before anything is touched: one error line, exit 3, the root and the victim as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from undo_roots import STREAM, build, edit_manifest, ironwal, one_error_line, segments, tear, tree

from ironwal_cli.errors import EXIT_REFUSED
from ironwal_cli.ops.recover import recover

VICTIM = b"precious, outside the root\n"


@pytest.fixture
def repaired(tmp_path):
    """(root, run folder, victim file outside the root) after a recover that cut a torn tail."""
    root = tmp_path / "wal"
    build(root)
    tear(segments(root)[-1])
    report = recover(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(VICTIM)
    return root, Path(report.run), outside / "victim.txt"


def refused(root: Path, run: Path, victim: Path, match: str) -> None:
    before_root, before_outside = tree(root), tree(victim.parent)
    result = ironwal("recover", "-r", str(root), "--undo", str(run))
    assert result.returncode == EXIT_REFUSED, result
    line = one_error_line(result)
    assert match in line and "undo refused, nothing was changed" in line, line
    assert tree(root) == before_root and tree(victim.parent) == before_outside
    assert victim.read_bytes() == VICTIM
    assert json.loads((run / "manifest.json").read_bytes())["state"] != "undone"


def _digest(data: bytes) -> dict:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _create_entry(path: str) -> dict:
    return {"path": path, "change": "create", "what": "x", "before": None, "after": _digest(VICTIM), "recipe": None}


def _rewrite_entry(manifest: dict, path: str) -> dict:
    """An entry that would overwrite ``path`` (holding VICTIM) with the run's first blob."""
    blob = manifest["removed"][0]
    return {"path": path, "change": "rewrite", "what": "x", "after": _digest(VICTIM),
            "before": {"size": blob["length"], "sha256": blob["sha256"]},
            "recipe": [{"blob": blob["blob"], "length": blob["length"]}]}


def _relative_victim(root: Path, victim: Path) -> str:
    return os.path.relpath(victim, root)  # ../outside/victim.txt


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_create_entry_outside_the_root_is_refused(repaired, where):
    root, run, victim = repaired
    path = _relative_victim(root, victim) if where == "relative" else str(victim)
    edit_manifest(run, lambda m: m["files"].append(_create_entry(path)))
    refused(root, run, victim, "names a path outside the root")


@pytest.mark.parametrize("where", ["relative", "absolute", "dotted"])
def test_a_rewrite_entry_outside_the_root_is_refused(repaired, where):
    root, run, victim = repaired
    path = {"relative": _relative_victim(root, victim), "absolute": str(victim),
            "dotted": f"{STREAM}/../{_relative_victim(root, victim)}"}[where]
    edit_manifest(run, lambda m: m["files"].append(_rewrite_entry(m, path)))
    refused(root, run, victim, "names a path outside the root")


def test_a_blob_name_outside_the_run_folder_is_refused(repaired):
    root, run, victim = repaired

    def point_blob_outside(m):
        m["files"][0]["recipe"][-1]["blob"] = "../../outside/victim.txt"
    edit_manifest(run, point_blob_outside)
    refused(root, run, victim, "names a path outside the root")


def test_a_directory_link_planted_in_the_root_is_refused(repaired):
    """The manifest names evil/victim.txt; evil is a link to the victim's folder."""
    root, run, victim = repaired
    (root / "evil").symlink_to(victim.parent, target_is_directory=True)
    edit_manifest(run, lambda m: m["files"].append(_rewrite_entry(m, "evil/victim.txt")))
    refused(root, run, victim, "a symbolic link or not a directory")


def test_a_stream_directory_swapped_for_a_link_after_the_run_is_refused(repaired):
    """No manifest edit at all: the stream moved outside and a link left in its place. Undo used
    to write the restored segment through the link, outside the root."""
    root, run, victim = repaired
    moved = victim.parent / STREAM
    shutil.move(root / STREAM, moved)
    (root / STREAM).symlink_to(moved, target_is_directory=True)
    before_moved = tree(moved)
    refused(root, run, victim, "a symbolic link or not a directory")
    assert tree(moved) == before_moved


def test_a_file_link_planted_after_the_run_is_refused(repaired):
    """The segment the run cut, replaced by a link to an outside file holding the same bytes:
    undo used to read through it and report success."""
    root, run, victim = repaired
    segment = segments(root)[-1]
    victim.write_bytes(segment.read_bytes())
    segment.unlink()
    segment.symlink_to(victim)
    before = victim.read_bytes()
    result = ironwal("recover", "-r", str(root), "--undo", str(run))
    assert result.returncode == EXIT_REFUSED and "changed since the recover run" in one_error_line(result)
    assert segment.is_symlink() and victim.read_bytes() == before


def test_an_edited_manifest_is_refused(repaired):
    """An edit that does not recompute the manifest's sha256 (here: only a reason string)."""
    root, run, victim = repaired

    def edit(m):
        m["removed"][0]["reason"] = "edited"
    edit_manifest(run, edit, reseal=False)
    refused(root, run, victim, "edited since recover wrote it")


def test_a_malformed_manifest_is_refused_in_one_line(repaired):
    root, run, victim = repaired

    def edit(m):
        m["files"][0]["recipe"] = [{"blob": 7, "length": "x"}]
    edit_manifest(run, edit)
    refused(root, run, victim, "names a path outside the root")


def test_the_honest_run_is_still_undone(repaired):
    root, run, victim = repaired
    result = ironwal("recover", "-r", str(root), "--undo", str(run))
    assert result.returncode == 0, result.stderr
    assert segments(root)[-1].read_bytes().endswith(b"LAWL" + b"\x01" * 20)
