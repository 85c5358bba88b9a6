"""Normal use, both ways, with the real crate as the judge: whatever ``ironwal append`` writes
(every input mode and sync mode, batch sizes, rotation by size and by count, LZ4, several
processes at once) the crate's ``iter``/``get`` return exactly; the crate and ironwal append to
one root in turns and the ids continue both ways; keys are routed to the crate's shards; and
checkpoints written by either side are read by the other."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from crate_oracle import dump, json_lines, route, run_iwref, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.ops.read import read_batches
from ironwal_cli.spec.codec import FRAME_LZ4


def ironwal(*args, stdin: bytes = b"", check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """The real CLI in a subprocess (stdin is a real descriptor, as in a shell pipeline)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", *map(os.fsencode, map(str, args))], input=stdin,
                          capture_output=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def crate_entries(root: Path, stream: str) -> list[bytes]:
    """The crate's iter(stream, 0), asserting it ended cleanly and its ids run 0, 1, 2, ..."""
    replay = dump(root, stream=stream).streams[stream]
    assert replay.error is None, replay.error
    assert replay.order == list(range(len(replay.order)))
    assert all(replay.gets[i] == replay.entries[i] for i in replay.order)  # get agrees with iter
    return [replay.entries[i] for i in replay.order]


def ours(root: Path, stream: str) -> list[bytes]:
    return [e for _, batch in read_batches(root, stream, from_id=0) for e in batch]


BINARY = [b"plain", b"", b"two\nlines", b"\x00\xff\x01", b"tab\there", b"\r\n", "ünï".encode(), b"x" * 3000]


def stdin_for(mode: str, entries: list[bytes]) -> tuple[list[str], bytes]:
    if mode == "lines":
        return [], b"".join(e + b"\n" for e in entries)
    if mode == "null":
        return ["-0"], b"".join(e + b"\0" for e in entries)
    return ["--whole"], entries[0]


def entries_for(mode: str) -> list[bytes]:
    if mode == "lines":
        return [e for e in BINARY if b"\n" not in e]
    if mode == "null":
        return [e for e in BINARY if b"\0" not in e]
    return [b"".join(BINARY)]  # --whole: all of stdin, NULs and newlines included, one entry


@pytest.mark.parametrize("sync", ["strict", "batch", "async"])
@pytest.mark.parametrize("mode,batch", [("args", None), ("lines", 1), ("lines", 3), ("lines", 1000),
                                        ("null", 2), ("null", 1000), ("whole", None)])
def test_every_append_mode_reads_back_through_the_crate(tmp_path, mode, batch, sync):
    root = tmp_path / "root"
    if mode == "args":
        values = ["one", "", "three four", "ünï", "-x"]
        ironwal("append", "-r", root, "--sync", sync, "s", "--", *values)
        want = [v.encode() for v in values]
    else:
        want = entries_for(mode)
        flags, data = stdin_for(mode, want)
        ironwal("append", "-r", root, "--sync", sync, "s", *flags, *(["--batch", batch] if batch else []), stdin=data)
    assert crate_entries(root, "s") == want
    assert ironwal("verify", "-r", root).returncode == 0


@pytest.mark.parametrize("options,crate_options", [
    (["--max-entries-per-segment", "3"], {"max_entries_per_segment": 3}),
    (["--max-segment-size", "300"], {"max_segment_size": 300}),
    (["--max-segment-size", "300", "--max-entries-per-segment", "4"], {"max_segment_size": 300,
                                                                       "max_entries_per_segment": 4}),
])
def test_rotation_gives_the_crates_segments_byte_for_byte(tmp_path, options, crate_options):
    """The same appends under the same limits, by ironwal and by the crate: the same segment files
    with the same bytes (raw frames hold no timestamps), and each side reads the other's."""
    singles = [b"entry %d" % i + b"." * (i * 7 % 40) for i in range(25)]
    batch = [b"b%d" % i for i in range(9)]
    for entry in singles:  # single appends (the crate's single-append rotation rule)
        ironwal_single(tmp_path / "ours", options, entry)
    ironwal("append", "-r", tmp_path / "ours", *options, "s", "--", *[b.decode() for b in batch])
    write(tmp_path / "crate", {"options": crate_options, "ops": [
        *({"op": "append", "stream": "s", "value": {"b64": base64.b64encode(e).decode()}} for e in singles),
        {"op": "append_batch", "stream": "s", "values": [b.decode() for b in batch]}]})
    mine, theirs = tmp_path / "ours" / "s", tmp_path / "crate" / "s"
    wal = sorted(p.name for p in mine.glob("*.wal"))
    assert wal == sorted(p.name for p in theirs.glob("*.wal")) and len(wal) > 2
    for name in wal:
        assert (mine / name).read_bytes() == (theirs / name).read_bytes(), name
    assert (mine / "segments.idx").read_bytes() == (theirs / "segments.idx").read_bytes()
    assert crate_entries(tmp_path / "ours", "s") == singles + batch == ours(tmp_path / "crate", "s")


def ironwal_single(root: Path, options: list[str], entry: bytes) -> None:
    """One single append (one entry given as an argument is the crate's ``append``)."""
    from typer.testing import CliRunner

    from ironwal_cli.cli.main import app

    result = CliRunner().invoke(app, ["append", "-r", str(root), *options, "s", "--", entry.decode()])
    assert result.exit_code == 0, result.output


def test_lz4_both_ways(tmp_path):
    text = [b"compressible %d " % i * 40 for i in range(30)] + [b"", b"\x01" * 5000]
    ironwal("append", "-r", tmp_path / "ours", "--compress", "--min-compress-size", "64", "--batch", "7",
            "--max-segment-size", "4k", "s", "-0", stdin=b"".join(e + b"\0" for e in text))
    lz4 = [i for p in sorted((tmp_path / "ours" / "s").glob("*.wal")) for i in scan(map_file(p))
           if isinstance(i, Frame) and i.header.frame_type == FRAME_LZ4]
    assert lz4, "the batches were meant to be compressed"
    assert crate_entries(tmp_path / "ours", "s") == text
    write(tmp_path / "crate", {"options": {"compression": True, "min_compression_size": 64, "max_segment_size": 4096},
                               "ops": [{"op": "append_batch", "stream": "s",
                                        "values": [{"b64": base64.b64encode(e).decode()} for e in text[i:i + 7]]}
                                       for i in range(0, len(text), 7)]})
    assert ours(tmp_path / "crate", "s") == text
    assert ironwal("verify", "-r", tmp_path / "crate").returncode == 0


def test_several_ironwal_processes_appending_at_once(tmp_path):
    root = tmp_path / "root"
    writers = [subprocess.Popen([sys.executable, "-m", "ironwal_cli", "append", "-r", str(root), "--batch", "3",
                                 "--max-entries-per-segment", "10", "s"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    sent = {w: [b"w%d-%d" % (k, i) for i in range(40)] for k, w in enumerate(writers)}
    for w in writers:
        assert w.stdin is not None
        w.stdin.write(b"".join(e + b"\n" for e in sent[w]))
        w.stdin.close()
    printed: list[int] = []
    for w in writers:
        assert w.stdout is not None and w.stderr is not None
        out, err = w.stdout.read(), w.stderr.read()
        assert w.wait(timeout=120) == 0, err.decode()
        printed += [int(x) for x in out.split()]
    got = crate_entries(root, "s")
    assert sorted(printed) == list(range(160))  # every id printed once
    assert sorted(got) == sorted(e for es in sent.values() for e in es)
    for entries in sent.values():  # each writer's entries in its own order
        assert [e for e in got if e in set(entries)] == entries


def test_crate_and_ironwal_append_to_one_root_in_turns(tmp_path):
    root = tmp_path / "root"
    opts = {"max_entries_per_segment": 3}
    want: list[bytes] = []
    for turn in range(4):
        crate = write(root, {"options": opts, "ops": [
            {"op": "append", "stream": "s", "value": f"crate {turn}"},
            {"op": "append_batch", "stream": "s", "values": [f"crate {turn} b{i}" for i in range(2)]}]})
        assert crate[1]["id"] == len(want)  # the crate continues after ironwal's entries
        assert crate[2]["range"] == [len(want) + 1, len(want) + 3]
        want += [f"crate {turn}".encode()] + [f"crate {turn} b{i}".encode() for i in range(2)]
        printed = ironwal("append", "-r", root, "--max-entries-per-segment", "3", "s", f"ours {turn}",
                          f"ours {turn} b").stdout.split()
        assert [int(x) for x in printed] == [len(want), len(want) + 1]  # and ironwal after the crate's
        want += [f"ours {turn}".encode(), f"ours {turn} b".encode()]
    assert crate_entries(root, "s") == want == ours(root, "s")
    assert ironwal("verify", "-r", root).returncode == 0


SETTINGS = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEY = st.binary(min_size=1, max_size=12).filter(lambda k: b"\0" not in k and b"\t" not in k)


@SETTINGS
@given(shards=st.integers(1, 9), keys=st.lists(KEY, min_size=1, max_size=25))
def test_routing_by_key_is_the_crates(tmp_path_factory, shards, keys):
    """``ironwal append -K TAB -0`` (binary keys) routes each record to the shard the crate's
    ShardedWal::append picks, and the crate reads each value back in that shard."""
    root = tmp_path_factory.mktemp("routed") / "root"
    records = b"".join(k + b"\t" + b"v%d" % i + b"\0" for i, k in enumerate(keys))
    out = ironwal("append", "-r", root, "--shards", shards, "-K", "\t", "-0", stdin=records).stdout
    placed = [tuple(map(int, line.split())) for line in out.splitlines()]
    assert [s for s, _ in placed] == route(shards, *keys)
    replay = dump(root)
    for i, (shard, entry_id) in enumerate(placed):
        assert replay.streams[f"shard_{shard:02d}"].entries[entry_id] == b"v%d" % i


def test_append_key_option_routes_as_the_crate(tmp_path):
    root = tmp_path / "root"
    for key in ["user1", "user/2", "ключ", "k" * 200]:
        out = ironwal("append", "-r", root, "--shards", "4", "--key", key, "a", "b").stdout.split()
        assert int(out[0]) == route(4, key.encode())[0]


@settings(max_examples=10, deadline=None)
@given(shards=st.integers(1, 65535),
       keys=st.lists(st.one_of(st.binary(max_size=40), st.binary(min_size=100, max_size=3000)), min_size=1,
                     max_size=40))
def test_both_siphash13s_route_as_the_crate(shards, keys):
    """The active SipHash-1-3 (siphash24's C where it imports) and the Python definition both
    pick the crate's shard for any bytes as a key, empty and long ones too."""
    from ironwal_cli.sharded import routing

    expected = route(shards, *keys)
    assert [routing.route(k, shards) for k in keys] == expected
    assert [routing.siphash13_python(len(k).to_bytes(8, "little") + k) % shards for k in keys] == expected


def dump_sharded(root: Path, shards: int) -> list[dict]:
    return json_lines(run_iwref("dump-sharded", root, shards).stdout)


def test_checkpoints_written_by_ironwal_are_the_crates(tmp_path):
    root = tmp_path / "root"
    ironwal("append", "-r", root, "--shards", "3", "-K", ":", stdin=b"".join(b"k%d:v%d\n" % (i, i) for i in range(30)))
    ironwal("checkpoint", "create", "-r", root, "--shards", "3", "c1")
    ironwal("append", "-r", root, "--shards", "3", "--key", "k1", "later")
    ironwal("checkpoint", "create", "-r", root, "c2")
    shown = json.loads(ironwal("checkpoint", "show", "-r", root, "--json", "c2").stdout)
    lines = dump_sharded(root, 3)
    assert [c["id"] for c in next(x for x in lines if x["kind"] == "checkpoints")["list"]] == ["c1", "c2"]
    latest = next(x for x in lines if x["kind"] == "latest")
    assert latest["id"] == "c2" and latest["offsets"] == shown["offsets"] and latest["shard_count"] == 3
    assert latest["timestamp"] == shown["timestamp_ns"]
    counts = {x["shard"]: x["count"] for x in lines if x["kind"] == "shard"}
    assert sum(counts.values()) == 31


def test_checkpoints_written_by_the_crate_are_read_by_ironwal(tmp_path):
    root = tmp_path / "root"
    write(root, {"options": {}, "shards": 2, "ops": [
        {"op": "append_batch", "entries": [[f"k{i}", f"v{i}"] for i in range(12)]},
        {"op": "create_checkpoint", "id": "first"},
        {"op": "append", "key": "k3", "value": "more"},
        {"op": "create_checkpoint", "id": "second"},
        {"op": "compact_checkpoints", "keep": 1},
        {"op": "prune_before_checkpoint", "id": "second"}]})
    crate_latest = next(x for x in dump_sharded(root, 2) if x["kind"] == "latest")
    listed = json.loads(ironwal("checkpoint", "list", "-r", root, "--json").stdout)
    assert [c["id"] for c in listed] == ["second"]
    shown = json.loads(ironwal("checkpoint", "show", "-r", root, "--json").stdout)
    assert shown["offsets"] == crate_latest["offsets"] and shown["shard_count"] == 2
    assert ironwal("verify", "-r", root).returncode == 0
    ironwal("checkpoint", "create", "-r", root, "third")  # ironwal continues the crate's log
    assert next(x for x in dump_sharded(root, 2) if x["kind"] == "latest")["id"] == "third"
