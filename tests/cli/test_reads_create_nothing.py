"""Reads never write: no read path (``tail``, ``get``, ``ls``, ``verify``, ``inspect``,
``checkpoint list``/``show``, ``recover -n``, ``StreamWriter.next_id``) creates the root, a stream directory or
``segments.idx``, whatever the command answers (an empty result or "no such ...")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.ops.listing import list_streams
from ironwal_cli.ops.read import get_entry, read_batches
from ironwal_cli.ops.verify import verify_root

READS = [
    ["tail", "s"],
    ["tail", "s", "--from", "0"],
    ["get", "s", "0"],
    ["ls"],
    ["verify"],
    ["verify", "s"],
    ["inspect", "s"],
    ["checkpoint", "list"],
    ["checkpoint", "show"],
    ["recover", "-n"],
]


def snapshot(top: Path) -> list[tuple[str, int]]:
    """Every path under ``top`` with its size (directories as -1)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames:
            out.append((os.path.relpath(os.path.join(dirpath, name), top), -1))
        for name in filenames:
            path = os.path.join(dirpath, name)
            out.append((os.path.relpath(path, top), os.path.getsize(path)))
    return sorted(out)


@pytest.fixture(params=["no-root", "no-stream", "empty-stream-dir"])
def where(request, tmp_path) -> Path:
    """A missing root; a root without the stream; a stream directory nothing was written to yet
    (made by hand, or left before the crate's first write: no segments.idx)."""
    root = tmp_path / "root"
    if request.param != "no-root":
        root.mkdir()
    if request.param == "empty-stream-dir":
        (root / "s").mkdir()
    return root


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_cli_reads_leave_the_filesystem_unchanged(where, args):
    before = snapshot(where.parent)
    result = CliRunner().invoke(app, [*args, "-r", str(where)])
    assert "Traceback" not in result.output
    assert snapshot(where.parent) == before, result.output


def test_api_reads_leave_the_filesystem_unchanged(where):
    before = snapshot(where.parent)
    assert StreamWriter(where, "s").next_id == 0
    for read in (lambda: list(read_batches(where, "s")), lambda: get_entry(where, "s", 0),
                 lambda: list_streams(where), lambda: verify_root(where)):
        try:
            read()
        except Exception as err:  # "no such stream/root/entry" is an answer too; what matters is the disk
            assert type(err).__module__.startswith("ironwal_cli"), err
    assert snapshot(where.parent) == before


def test_writer_next_id_reads_what_is_there_without_the_lock(tmp_path):
    """next_id of a fresh writer on a written stream: the id the next append gets."""
    with StreamWriter(tmp_path, "s") as w:
        w.append_batch([b"a", b"b", b""])
    before = snapshot(tmp_path)
    assert StreamWriter(tmp_path, "s").next_id == 3
    assert snapshot(tmp_path) == before
    with StreamWriter(tmp_path, "s") as w:
        assert w.append(b"c") == 3
