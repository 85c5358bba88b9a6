"""A sharded root cannot be split by mistake (issue 14 items 1, 2): a shard count that contradicts
what the root shows is refused with exit 2, the count is remembered from the first routed write,
keyed appends are refused on a root of plain streams and plain streams in a sharded root."""

from __future__ import annotations

from pathlib import Path

import pytest
from wal_invariants import cli

from ironwal_cli.errors import UsageError
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.sharded.routing import route
from ironwal_cli.sharded.shard_count import COUNT_NAME


def usage_error(r, *words: str) -> bool:
    lines = r.stderr.decode().splitlines()
    return (r.returncode == 2 and r.stdout == b"" and len(lines) == 1 and lines[0].startswith("ironwal: error: ")
            and all(w in lines[0] for w in words))


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != "seals.idx"}


def test_the_count_of_the_first_routed_write_is_remembered_and_a_contradiction_refused(root):
    r = cli("append", "--shards", "4", "--key", "user1", "a", "-r", root)
    assert r.returncode == 0 and r.stdout == f"{route(b'user1', 4)} 0\n".encode()
    assert (root / COUNT_NAME).read_bytes() == b"4\n"
    before = files(root)
    assert usage_error(cli("append", "--shards", "8", "--key", "user1", "b", "-r", root), "--shards 8", COUNT_NAME, "4")
    assert usage_error(cli("checkpoint", "create", "c", "--shards", "8", "-r", root), "--shards 8")
    assert usage_error(cli("append", "-K", ":", "--shards", "8", "-r", root, input=b"user1:b\n"), "--shards 8")
    assert files(root) == before
    r = cli("append", "--key", "user1", "b", "-r", root)  # no --shards: the remembered count
    assert r.returncode == 0 and r.stdout == f"{route(b'user1', 4)} 1\n".encode()
    assert cli("checkpoint", "create", "c", "-r", root).returncode == 0
    assert cli("append", "--shards", "4", "--key", "user1", "c", "-r", root).returncode == 0


def test_a_count_that_leaves_a_shard_directory_beyond_it_is_refused_even_when_remembered_elsewhere(root):
    assert cli("append", "--shards", "8", "--key", "user1", "a", "-r", root).returncode == 0  # shard 6
    assert route(b"user1", 8) == 6
    (root / COUNT_NAME).unlink()  # a root whose count was never written down (the crate's own roots)
    assert usage_error(cli("append", "--shards", "4", "--key", "x", "v", "-r", root), "shard_06", "exists")
    assert usage_error(cli("checkpoint", "create", "c", "--shards", "4", "-r", root), "shard_06")
    assert cli("append", "--shards", "8", "--key", "x", "v", "-r", root).returncode == 0
    assert (root / COUNT_NAME).read_bytes() == b"8\n"


def test_a_checkpoint_record_and_the_remembered_count_must_agree(root):
    assert cli("append", "--shards", "4", "--key", "k", "a", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "c", "-r", root).returncode == 0
    (root / COUNT_NAME).write_bytes(b"5\n")  # edited by hand
    r = cli("append", "--key", "k", "b", "-r", root)
    assert usage_error(r, "checkpoints.log", COUNT_NAME)
    (root / COUNT_NAME).write_bytes(b"many\n")
    r = cli("append", "--key", "k", "b", "-r", root)
    assert r.returncode == 3 and COUNT_NAME.encode() in r.stderr and b"not a shard count" in r.stderr


def test_without_any_record_of_the_count_shards_is_required(root):
    assert cli("append", "plain", "a", "-r", root).returncode == 0
    r = cli("append", "--key", "k", "v", "-r", root / "fresh")
    assert usage_error(r, "--shards")


def test_a_keyed_append_on_a_root_of_plain_streams_is_refused(root):
    assert cli("append", "plain", "a", "-r", root).returncode == 0
    before = files(root)
    assert usage_error(cli("append", "--shards", "2", "--key", "k", "v", "-r", root), "'plain'", "not shards")
    assert usage_error(cli("append", "-K", ":", "--shards", "2", "-r", root, input=b"k:v\n"), "not shards")
    assert files(root) == before and sorted(p.name for p in root.iterdir()) == ["plain"]
    with pytest.raises(UsageError):
        append_keyed(root, b"k", [b"v"], shards=2)


def test_a_plain_stream_in_a_sharded_root_is_refused(root):
    assert cli("append", "--shards", "2", "--key", "k", "v", "-r", root).returncode == 0
    before = files(root)
    assert usage_error(cli("append", "plain", "a", "-r", root), "sharded root", "'plain'")
    assert usage_error(cli("append", "plain", "-r", root, input=b"a\n"), "sharded root")
    assert usage_error(cli("append", "shard_02", "a", "-r", root), "2 shards", "shard_02")
    assert files(root) == before
    with pytest.raises(UsageError):
        append_values(root, "plain", [b"a"])
    shard = f"shard_{route(b'k', 2):02d}"
    assert cli("append", shard, "direct", "-r", root).stdout == b"1\n"  # an existing shard stays writable
    assert cli("verify", "-r", root).returncode == 0


# ----- checkpoint records whose shard count contradicts the root (issue 17 item 16) ----------------


def add_record(root: Path, checkpoint_id: bytes, offsets: tuple[int, ...]) -> None:
    """A CRC-valid record, as a buggy or hostile writer could leave one."""
    import time

    from ironwal_cli.spec.codec import Checkpoint, encode_checkpoint_record

    with open(root / "checkpoints.log", "ab") as f:
        f.write(encode_checkpoint_record(Checkpoint(checkpoint_id, time.time_ns(), offsets)))


@pytest.mark.parametrize("remembered", [True, False])
def test_records_of_0_or_65535_shards_are_quarantined_by_recover(root, remembered):
    key = b"k"
    assert cli("append", "--shards", "4", "--key", key, "a", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "c1", "-r", root).returncode == 0
    if not remembered:
        (root / COUNT_NAME).unlink()  # as in a root the crate made
    add_record(root, b"none", ())
    add_record(root, b"huge", (10**12,) * 65535)  # offsets no shard of this root has: no floor either
    (root / "HEAD").write_bytes(len(b"huge").to_bytes(2, "little") + b"huge")
    r = cli("append", "--shards", "4", "--key", key, "b", "-r", root)
    assert usage_error(r, "disagree", "ironwal recover")
    assert cli("verify", "-r", root).returncode == 1
    r = cli("recover", "-r", root)
    assert r.returncode == 0, r.stderr
    assert cli("verify", "-r", root).returncode == 0
    r = cli("append", "--shards", "4", "--key", key, "b", "-r", root)
    assert (r.returncode, r.stdout) == (0, f"{route(key, 4)} 1\n".encode())
    listed = cli("checkpoint", "list", "--json", "-r", root).stdout
    assert b'"c1"' in listed and b"huge" not in listed and b"none" not in listed
    assert cli("checkpoint", "show", "-r", root).stdout.startswith(b"checkpoint c1 ")  # HEAD: the one kept
    assert cli("recover", "-n", "-r", root).returncode == 0


def test_a_root_whose_every_record_says_65535_keeps_them(root):
    """Nothing contradicts a count that every record and every directory agree on."""
    assert cli("append", "--shards", "65535", "--key", "k", "a", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "c1", "-r", root).returncode == 0
    assert cli("recover", "-n", "-r", root).returncode == 0
    add_record(root, b"zero", ())  # but 0 shards is never a count
    assert cli("recover", "-r", root).returncode == 0
    assert b"zero" not in (root / "checkpoints.log").read_bytes()
    assert cli("append", "--key", "k", "b", "-r", root).returncode == 0
