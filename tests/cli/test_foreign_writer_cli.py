"""recover, prune, checkpoint and routed appends refuse (exit 4, one line naming the process,
nothing changed) while a process that is not ironwal holds the stream open; --force overrides;
a dry run does not look. The foreign process is a plain child holding the file; the real crate
does the same in tests/interop/test_crate_as_foreign_writer.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from wal_invariants import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from foreign_holder import holding  # noqa: E402
from wal_checks import root_digests  # noqa: E402

from ironwal_cli.sharded.routing import route, shard_name  # noqa: E402

SEGMENT = "00000000000000000000.wal"


def refused(r, pid: int) -> bool:
    lines = r.stderr.decode().splitlines()
    return (r.returncode == 4 and len(lines) == 1 and lines[0].startswith("ironwal: error: ")
            and f"pid {pid} (" in lines[0] and "--force" in lines[0])


@pytest.fixture
def plain(root: Path) -> Path:
    """A stream of three segments, so that prune has something to delete."""
    for value in ("a", "b", "c"):
        assert cli("append", "s", value, "-r", root, "--max-entries-per-segment", "1").returncode == 0
    return root


@pytest.fixture
def sharded(root: Path) -> Path:
    assert cli("append", "--shards", "2", "--key", "k0", "v", "-r", root).returncode == 0
    assert cli("append", "--shards", "2", "--key", "k2", "w", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "c1", "--shards", "2", "-r", root).returncode == 0
    return root


def only_shard(root: Path) -> Path:
    return root / sorted(p.name for p in root.iterdir() if p.name.startswith("shard_"))[0]


@pytest.mark.parametrize("held", ["active", "older"])
def test_recover_and_prune_refuse_a_foreign_writer_of_any_segment(plain, held):
    seg = sorted((plain / "s").glob("*.wal"))[-1 if held == "active" else 0]
    before = root_digests(plain)
    with holding(seg) as proc:
        assert refused(cli("recover", "-r", plain), proc.pid)
        assert refused(cli("prune", "s", "--before", "2", "-r", plain), proc.pid)
        assert root_digests(plain) == before
        assert cli("recover", "-n", "-r", plain).returncode == 0  # a dry run does not look
        assert cli("prune", "s", "--before", "2", "-n", "-r", plain).returncode == 0
        assert cli("recover", "-r", plain, "--force").returncode == 0
    assert cli("prune", "s", "--before", "2", "-r", plain).returncode == 0
    assert sorted(p.name for p in (plain / "s").glob("*.wal")) == ["00000000000000000002.wal"]


def test_an_index_held_open_refuses_recover_and_prune_but_not_append(plain):
    """What a crate ``Wal`` holds from the moment it opens a root, before its first append."""
    with holding(plain / "s" / "segments.idx", "read") as proc:
        assert refused(cli("recover", "-r", plain), proc.pid)
        assert refused(cli("prune", "s", "--before", "2", "-r", plain), proc.pid)
        assert cli("append", "s", "d", "-r", plain).returncode == 0  # the documented gap of a plain append
        assert cli("prune", "s", "--before", "2", "-r", plain, "--force").returncode == 0


def test_checkpoints_and_routed_appends_refuse_a_foreign_writer_of_a_shard(sharded):
    shard = only_shard(sharded)
    key = next(k for k in (b"k0", b"k2") if shard_name(route(k, 2)) == shard.name).decode()
    log = (sharded / "checkpoints.log").read_bytes()
    with holding(shard / SEGMENT) as proc:
        before = root_digests(sharded)
        assert refused(cli("checkpoint", "create", "c2", "-r", sharded), proc.pid)
        assert refused(cli("append", "--key", key, "x", "-r", sharded), proc.pid)
        assert root_digests(sharded) == before and (sharded / "checkpoints.log").read_bytes() == log
        assert cli("checkpoint", "create", "c2", "-r", sharded, "--force").returncode == 0
    assert cli("checkpoint", "create", "c3", "-r", sharded).returncode == 0
    assert cli("append", "--key", key, "x", "-r", sharded).returncode == 0


def test_a_foreign_holder_of_checkpoints_log_refuses_every_sharded_write(sharded):
    """A running ShardedWal keeps checkpoints.log open for writing all its life."""
    log = sharded / "checkpoints.log"
    with holding(log) as proc:
        before = root_digests(sharded)
        for args in (["append", "--key", "k0", "x"], ["checkpoint", "create", "c2"],
                     ["checkpoint", "compact", "--keep", "1"], ["prune", "--checkpoint", "c1"], ["recover"]):
            assert refused(cli(*args, "-r", sharded), proc.pid), args
        assert root_digests(sharded) == before
        assert cli("append", "--key", "k0", "x", "-r", sharded, "--force").returncode == 0
        assert cli("checkpoint", "compact", "--keep", "1", "-r", sharded, "--force").returncode == 0
    assert cli("append", "--key", "k0", "y", "-r", sharded).returncode == 0


def test_undo_of_a_recover_run_refuses_a_foreign_writer_too(plain):
    seg = sorted((plain / "s").glob("*.wal"))[-1]
    with open(seg, "ab") as f:
        f.write(b"LAWL" + b"\0" * 10)  # a torn header for recover to cut
    assert cli("recover", "-r", plain).returncode == 0
    run = next(Path(f"{plain}.quarantine").iterdir()).name
    before = root_digests(plain)
    with holding(seg) as proc:
        assert refused(cli("recover", "--undo", run, "-r", plain), proc.pid)
        assert root_digests(plain) == before
    assert cli("recover", "--undo", run, "-r", plain).returncode == 0
    assert root_digests(plain) != before
