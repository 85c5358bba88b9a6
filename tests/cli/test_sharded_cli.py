"""The sharded commands through the real CLI: routed append, checkpoint, prune, ls, tail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.store.locks import locked_dir
from ironwal_cli.errors import EXIT_NOT_FOUND
from ironwal_cli.sharded.routing import route

runner = CliRunner()


def run(root: Path, *args: str, input: str | bytes | None = None, env: dict | None = None):
    return runner.invoke(app, [*args, "-r", str(root)], input=input, env=env)


def sh(root: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess:
    """A real process: stdin is a real file descriptor, as for a script."""
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args, "-r", str(root)], input=input,
                          capture_output=True, check=False)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_routed_append_needs_a_shard_count(root):
    res = run(root, "append", "--key", "user1", "a")
    assert res.exit_code == 2
    assert "--shards" in res.output and "cannot be inferred" in res.output
    assert not root.exists() or not any(root.iterdir())  # nothing written


def test_append_without_stream_or_key_is_a_usage_error(root):
    res = run(root, "append", input="x\n")
    assert res.exit_code == 2 and "missing STREAM" in res.output


def test_key_append_prints_shard_and_id(root):
    res = run(root, "append", "--key", "user1", "--shards", "4", "a", "b", "c")
    assert res.exit_code == 0, res.output
    shard = route(b"user1", 4)
    assert res.stdout == f"{shard} 0\n{shard} 1\n{shard} 2\n"
    assert (root / "checkpoints.log").read_bytes() == b""  # marked sharded, as the crate's open does
    res = sh(root, "append", "--key", "user1", "--shards", "4", "--json", input=b"d\ne\n")
    assert json.loads(res.stdout) == {"shard": shard, "stream": f"shard_{shard:02d}", "first": 3, "count": 2,
                                      "next": 5}
    res = run(root, "tail", f"shard_{shard:02d}")
    assert res.stdout == "a\nb\nc\nd\ne\n"


def test_separator_records_are_routed_and_keep_their_order(root):
    lines = [f"k{i % 5}\tv{i}" for i in range(50)]
    res = sh(root, "append", "-K", "\t", "--shards", "3", input=("\n".join(lines) + "\n").encode())
    assert res.returncode == 0, res.stderr
    placed = [tuple(map(int, line.split())) for line in res.stdout.decode().splitlines()]
    assert [s for s, _ in placed] == [route(f"k{i % 5}".encode(), 3) for i in range(50)]
    for shard in range(3):
        ids = [i for s, i in placed if s == shard]
        assert ids == list(range(len(ids)))  # one shard's ids, in input order
        out = run(root, "tail", f"shard_{shard:02d}", "-n", "100").stdout.split()
        assert out == [f"v{i}" for i in range(50) if route(f"k{i % 5}".encode(), 3) == shard]


def test_separator_record_without_separator_is_refused(root):
    res = sh(root, "append", "-K", "=", "--shards", "2", input=b"a=1\nnokey\n")
    assert res.returncode == 2 and b"record 2 has no key separator" in res.stderr
    assert not any((root / d).exists() for d in ("shard_00", "shard_01"))  # the group was refused whole


def test_shard_count_disagreement_is_refused(root):
    assert run(root, "append", "--key", "k", "--shards", "4", "v").exit_code == 0
    assert run(root, "checkpoint", "create", "c1", env={"IRONWAL_SHARDS": "4"}).exit_code == 0
    before = files(root)
    for args in (["append", "--key", "k", "--shards", "5", "v"], ["checkpoint", "create", "c2", "--shards", "3"],
                 ["prune", "--checkpoint", "c1", "--shards", "2"]):
        res = run(root, *args)
        assert res.exit_code == 2, args
        assert "refus" in res.output
    assert files(root) == before
    # Without --shards, the count comes from the log.
    res = run(root, "append", "--key", "k", "v2")
    assert res.exit_code == 0 and res.stdout.split()[0] == str(route(b"k", 4))


def test_a_shard_directory_beyond_the_count_is_refused(root):
    (root / "shard_07").mkdir(parents=True)
    res = run(root, "append", "--key", "k", "--shards", "4", "v")
    assert res.exit_code == 2 and "shard_07" in res.output


def test_checkpoint_list_show_compact_json(root):
    run(root, "append", "--key", "a", "--shards", "2", "1", "2", "3")
    assert run(root, "checkpoint", "create", "first", "--shards", "2").exit_code == 0
    run(root, "append", "--key", "a", "4")
    res = run(root, "checkpoint", "create", "ff00", "--hex", "--json")
    made = json.loads(res.stdout)
    assert made["id"] == "ff00" and made["id_hex"] == "ff00" and made["latest"]
    listed = json.loads(run(root, "checkpoint", "list", "--json").stdout)
    assert [c["id"] for c in listed] == ["first", "ff00"]  # oldest first
    assert listed[0]["time"].endswith("Z") and listed[0]["shard_count"] == 2
    shown = json.loads(run(root, "checkpoint", "show", "--json").stdout)
    assert {"id", "timestamp_ns", "time", "shard_count", "offsets"} <= set(shown)
    a = route(b"a", 2)
    assert shown["offsets"][a] == 4 and shown["id_hex"] == "ff00"
    first = json.loads(run(root, "checkpoint", "show", "first", "--json").stdout)
    assert first["offsets"][a] == 3 and first["shards"][a]["past"] == 1  # one entry past it
    text = run(root, "checkpoint", "show", "first").stdout
    assert "checkpoint first" in text and "shard_0" in text
    res = run(root, "checkpoint", "compact", "--keep", "1")
    assert res.exit_code == 0 and "archived first" in res.stdout
    assert [c["id"] for c in json.loads(run(root, "checkpoint", "list", "--json").stdout)] == ["ff00"]
    archived = json.loads(run(root, "checkpoint", "list", "--archive", "--json").stdout)
    assert [c["id"] for c in archived] == ["first"] and archived[0]["offsets"][a] == 3
    assert run(root, "checkpoint", "show", "nope").exit_code == EXIT_NOT_FOUND


def test_checkpoint_create_refuses_a_damaged_shard_tail(root):
    run(root, "append", "--key", "a", "--shards", "1", "x", "y")
    seg = root / "shard_00" / "00000000000000000000.wal"
    seg.write_bytes(seg.read_bytes()[:-3])  # a torn last frame
    log = (root / "checkpoints.log").read_bytes()
    res = run(root, "checkpoint", "create", "c", "--shards", "1")
    assert res.exit_code == 3 and "shard_00" in res.output
    assert (root / "checkpoints.log").read_bytes() == log and not (root / "HEAD").exists()


def _rotating_stream(root: Path, n: int = 30) -> None:
    for i in range(n):
        res = run(root, "append", "s", f"entry-{i:03d}", "--max-segment-size", "100")
        assert res.exit_code == 0


def test_prune_stream_dry_run_then_for_real(root):
    _rotating_stream(root)
    before = files(root)
    res = run(root, "prune", "s", "--before", "10", "--dry-run", "--json")
    planned = json.loads(res.stdout)
    assert files(root) == before and planned["dry_run"]
    [stream] = planned["streams"]
    assert stream["deleted"] and all(d["first_id"] < 10 for d in stream["deleted"])
    res = run(root, "prune", "s", "--before", "10")
    assert res.exit_code == 0
    gone = [line.split("\t")[1] for line in res.stdout.splitlines()]
    assert gone == [d["file"] for d in stream["deleted"]]
    assert all(not (root / "s" / g).exists() for g in gone)
    assert run(root, "tail", "s", "--from", "0", "-c", "1").stdout.startswith("entry-")
    assert run(root, "get", "s", "10").stdout == "entry-010\n"
    assert run(root, "get", "s", "0").exit_code == EXIT_NOT_FOUND


def test_prune_waits_for_the_writer_lock(root):
    _rotating_stream(root, 10)
    before = files(root)
    with locked_dir(root / "s"):
        res = run(root, "prune", "s", "--before", "9", "--lock-timeout", "0.1")
    assert res.exit_code == 4 and "lock" in res.output
    assert files(root) == before


def test_prune_argument_errors(root):
    _rotating_stream(root, 3)
    assert run(root, "prune", "s").exit_code == 2
    assert run(root, "prune", "--before", "3").exit_code == 2
    assert run(root, "prune", "s", "--before", "1", "--checkpoint", "c").exit_code == 2
    assert run(root, "prune", "nosuch", "--before", "1").exit_code == EXIT_NOT_FOUND


def test_ls_of_a_sharded_root(root):
    run(root, "append", "--key", "a", "--shards", "2", "x")
    run(root, "checkpoint", "create", "snap", "--shards", "2")
    text = run(root, "ls").stdout
    shard = f"shard_{route(b'a', 2):02d}"
    assert shard in text and "checkpoints: 1; latest: snap at " in text
    listing = json.loads(run(root, "ls", "--json").stdout)
    assert [s["name"] for s in listing["streams"]] == [shard]
    assert listing["checkpoints"]["count"] == 1 and listing["checkpoints"]["latest"]["id"] == "snap"


@pytest.mark.parametrize("args", [["checkpoint", "--help"], ["prune", "--help"], ["append", "--help"]])
def test_help(args):
    assert runner.invoke(app, args).exit_code == 0


def test_real_process_routed_append_and_checkpoint(root):
    """The installed entry point, as a script would call it."""
    cmd = [sys.executable, "-m", "ironwal_cli"]
    p = subprocess.run([*cmd, "append", "-K", "=", "--shards", "2", "-r", str(root)], input=b"a=1\nb=2\n",
                       capture_output=True, check=False)
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stdout.decode().splitlines()] == [str(route(b"a", 2)), str(route(b"b", 2))]
    p = subprocess.run([*cmd, "checkpoint", "create", "c", "--shards", "2", "-r", str(root)], capture_output=True,
                       check=False)
    assert p.returncode == 0 and p.stdout.startswith(b"c\t")
    p = subprocess.run([*cmd, "checkpoint", "create", "d", "--shards", "9", "-r", str(root)], capture_output=True,
                       check=False)
    assert p.returncode == 2 and b"disagrees" in p.stderr and b"Traceback" not in p.stderr


def test_checkpoint_waits_for_a_shards_writer_lock(root):
    run(root, "append", "--key", "a", "--shards", "1", "x")
    before = files(root)
    with locked_dir(root / "shard_00"):
        res = run(root, "checkpoint", "create", "c", "--shards", "1", "--lock-timeout", "0.1")
    assert res.exit_code == 4
    assert files(root) == before


def test_a_damaged_log_lists_its_intact_records_with_a_warning(root):
    run(root, "append", "--key", "a", "--shards", "1", "x")
    run(root, "checkpoint", "create", "one", "--shards", "1")
    intact = (root / "checkpoints.log").stat().st_size
    with open(root / "checkpoints.log", "ab") as f:
        f.write(b"CKPT\0\0")  # a torn record
    res = run(root, "checkpoint", "list", "--json")
    assert res.exit_code == 0 and [c["id"] for c in json.loads(res.stdout)] == ["one"]
    assert f"at offset {intact}:" in res.stderr
    res = run(root, "checkpoint", "create", "two")
    assert res.exit_code == 3 and "refusing" in res.stderr
