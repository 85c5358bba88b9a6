"""A failed file replacement leaves the old file and nothing beside it; an empty quarantine
path is a usage error, not the current directory (issue 17 item 18)."""

from __future__ import annotations

import os

import pytest
from undo_roots import STREAM, build, ironwal, one_error_line, segments, tear, tree

from ironwal_cli.engine.store.files import atomic_write
from ironwal_cli.ops.recover import recover


def test_atomic_write_onto_a_directory_leaves_no_temp(tmp_path):
    (tmp_path / "target").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "target", b"new")
    assert sorted(os.listdir(tmp_path)) == ["target"]


def test_a_seals_idx_directory_leaves_no_seals_tmp(tmp_path):
    root = tmp_path / "wal"
    stream = build(root)
    (stream / "seals.idx").unlink()
    (stream / "seals.idx").mkdir()
    tear(segments(root)[-1])
    report = recover(root)
    assert any("seals.idx not updated" in message for _, message in report.notes)
    assert not (stream / "seals.idx.tmp").exists()
    assert (stream / "seals.idx").is_dir()


@pytest.mark.parametrize("args", [["--quarantine", ""], ["--quarantine="]])
def test_empty_quarantine_is_a_usage_error(tmp_path, args):
    root = tmp_path / "wal"
    build(root)
    tear(segments(root)[-1])
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = tree(tmp_path)
    result = ironwal("recover", "-r", str(root), *args, cwd=cwd)
    assert result.returncode == 2, result
    assert "quarantine" in one_error_line(result)
    assert tree(tmp_path) == before  # nothing repaired, no run folder anywhere (cwd included)


def test_empty_quarantine_refused_by_the_api(tmp_path):
    root = tmp_path / "wal"
    build(root)
    with pytest.raises(ValueError, match="empty path"):
        recover(root, [STREAM], quarantine="")


@pytest.mark.parametrize("where", ["afile", "afile/sub"])
def test_a_quarantine_that_is_not_a_directory_is_a_usage_error(tmp_path, where):
    root = tmp_path / "wal"
    build(root)
    tear(segments(root)[-1])
    (tmp_path / "afile").write_bytes(b"mine")
    before = tree(tmp_path)
    result = ironwal("recover", "-r", str(root), "--quarantine", str(tmp_path / where))
    assert result.returncode == 2, result
    assert "is not a directory" in one_error_line(result)
    assert tree(tmp_path) == before


def test_an_empty_undo_run_is_a_usage_error(tmp_path):
    root = tmp_path / "wal"
    build(root)
    result = ironwal("recover", "-r", str(root), "--undo", "", cwd=tmp_path)
    assert result.returncode == 2 and "empty run name" in one_error_line(result)
