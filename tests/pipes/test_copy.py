"""``ironwal copy``: same entries at the same ids, new writer options, resumable, refusing a
destination that holds other entries; the result verifies clean. Through the real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from pipe_support import cli, entries, run

from ironwal_cli.engine.writer.writer import WriteOptions
from ironwal_cli.errors import EXIT_DAMAGED, EXIT_REFUSED, EXIT_USAGE
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.read import read_batches
from ironwal_cli.ops.stats import root_stats
from ironwal_cli.ops.verify import verify_root

VALUES = [b"", b"\0", b"line\nbreak", b"\xff\xfe", *(b"log line %d " % i * 8 for i in range(300))]


def _source(tmp_path, compress: bool = False):
    root = tmp_path / "src"
    options = WriteOptions(compress=compress, min_compress_size=64)
    for start in range(0, len(VALUES), 37):
        append_values(root, "a", VALUES[start:start + 37], options)
    append_values(root, "b", [b"only"], options)
    return root


def _ids_and_entries(root, stream) -> list[tuple[int, bytes]]:
    return [(first + i, e) for first, batch in read_batches(root, stream, from_id=0)
            for i, e in enumerate(batch)]


def _copy(*args) -> list[dict]:
    result = run("copy", *map(str, args), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_root_is_copied_re_segmented_and_compressed(tmp_path):
    src, dst = _source(tmp_path), tmp_path / "dst"
    rows = _copy(src, dst, "--max-segment-size", "4k", "--compress", "--min-compress-size", "256")
    assert rows == [{"stream": "a", "first": 0, "next": len(VALUES), "kept": 0, "copied": len(VALUES)},
                    {"stream": "b", "first": 0, "next": 1, "kept": 0, "copied": 1}]
    for stream in ("a", "b"):
        assert _ids_and_entries(dst, stream) == _ids_and_entries(src, stream)
    assert verify_root(dst).ok
    before, after = root_stats(src).streams[0], root_stats(dst).streams[0]
    assert len(before.segments) == 1 and len(after.segments) > 1  # re-segmented
    assert before.total("lz4_frames") == 0 and after.total("lz4_frames") > 0  # compressed
    assert max(s.disk_bytes for s in after.segments) <= 4096 + 4096  # about the new size


def test_decompressing_copy_of_one_stream(tmp_path):
    src, dst = _source(tmp_path, compress=True), tmp_path / "dst"
    assert root_stats(src, ["a"]).streams[0].total("lz4_frames") > 0
    rows = _copy(src / "a", dst, "--no-compress")
    assert [r["stream"] for r in rows] == ["a"] and not (dst / "b").exists()
    assert entries(dst, "a") == VALUES
    assert root_stats(dst).streams[0].total("lz4_frames") == 0
    assert verify_root(dst).ok


def test_a_second_run_continues_where_the_first_stopped(tmp_path):
    src, dst = _source(tmp_path), tmp_path / "dst"
    _copy(src, dst)
    append_values(src, "a", [b"new-1", b"new-2"])
    rows = _copy(src, dst)
    assert rows[0] == {"stream": "a", "first": 0, "next": len(VALUES) + 2, "kept": len(VALUES), "copied": 2}
    assert rows[1] == {"stream": "b", "first": 0, "next": 1, "kept": 1, "copied": 0}
    assert entries(dst, "a") == [*VALUES, b"new-1", b"new-2"]


def test_a_killed_copy_is_resumed_without_doubling_or_skipping(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    values = [b"%06d" % i * 10 for i in range(20000)]
    for start in range(0, len(values), 50):
        append_values(src, "s", values[start:start + 50], WriteOptions(sync="async"))
    proc = subprocess.Popen(cli("copy", str(src), str(dst), "--sync", "strict", "--batch", "50", "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline and not list(dst.glob("s/*.wal")):
        time.sleep(0.02)
    time.sleep(0.2)  # mid-copy: strict syncs each frame of 50 entries
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    held = len(entries(dst, "s")) if (dst / "s").exists() else 0
    rows = _copy(src, dst)
    assert rows == [{"stream": "s", "first": 0, "next": len(values), "kept": held, "copied": len(values) - held}]
    assert entries(dst, "s") == values
    assert verify_root(dst).ok


def test_a_destination_with_different_entries_is_refused_untouched(tmp_path):
    src, dst = _source(tmp_path), tmp_path / "dst"
    append_values(dst, "a", [b"", b"\0", b"not the same"])
    before = {p.name: p.read_bytes() for p in (dst / "a").iterdir()}
    result = run("copy", str(src), str(dst))
    assert result.returncode == EXIT_REFUSED
    assert result.stderr.decode().startswith(f"ironwal: error: {dst / 'a'}: holds a different entry at id 2")
    assert {p.name: p.read_bytes() for p in (dst / "a").iterdir()} == before


def test_a_destination_holding_more_is_refused(tmp_path):
    src, dst = _source(tmp_path), tmp_path / "dst"
    append_values(dst, "b", [b"only", b"and more"])
    result = run("copy", str(src / "b"), str(dst))
    assert result.returncode == EXIT_REFUSED and b"the source only up to 0" in result.stderr


def test_a_pruned_source_is_copied_at_its_ids(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    options = WriteOptions(max_entries_per_segment=10)
    for start in range(0, 25, 5):
        append_values(src, "s", [b"e%d" % i for i in range(start, start + 5)], options)
    assert run("prune", "-r", str(src), "s", "--before", "12").returncode == 0
    first = _ids_and_entries(src, "s")[0][0]
    assert first == 10
    rows = _copy(src, dst)
    assert rows[0]["first"] == 10 and rows[0]["kept"] == 0 and rows[0]["copied"] == 15
    assert _ids_and_entries(dst, "s") == _ids_and_entries(src, "s")
    assert verify_root(dst).ok
    assert _copy(src, dst)[0]["kept"] == 15  # and resumes there too


def test_sharded_root_copies_its_checkpoints(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(12):
        assert run("append", "-r", str(src), "--shards", "3", "--key", f"k{i}", f"v{i}").returncode == 0
    assert run("checkpoint", "create", "-r", str(src), "cp-1", "--shards", "3").returncode == 0
    rows = _copy(src, dst, "--max-segment-size", "1k")
    assert sum(r["copied"] for r in rows) == 12
    assert (dst / "checkpoints.log").read_bytes() == (src / "checkpoints.log").read_bytes()
    assert (dst / "HEAD").read_bytes() == (src / "HEAD").read_bytes()
    assert verify_root(dst).ok
    listed = run("checkpoint", "list", "-r", str(dst))
    assert listed.returncode == 0 and b"cp-1" in listed.stdout
    (dst / "checkpoints.log").write_bytes((src / "checkpoints.log").read_bytes()[:-1] + b"X")
    result = run("copy", str(src), str(dst))
    assert result.returncode == EXIT_REFUSED and b"checkpoints.log" in result.stderr


def test_damage_in_the_source_stops_the_copy_and_what_came_before_stands(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    append_values(src, "s", [b"good-0", b"good-1"])
    append_values(src, "s", [b"bad-2"])
    segment = next((src / "s").glob("*.wal"))
    data = bytearray(segment.read_bytes())
    data[data.index(b"bad-2")] ^= 1
    segment.write_bytes(bytes(data))
    result = run("copy", str(src), str(dst))
    assert result.returncode == EXIT_DAMAGED and result.stderr.decode().startswith(f"ironwal: error: {segment}")
    assert entries(dst, "s") == [b"good-0", b"good-1"]


@pytest.mark.parametrize("where", ["same", "inside", "stream-into-own-root"])
def test_a_copy_into_its_own_source_is_refused(tmp_path, where):
    src = _source(tmp_path)
    args = {"same": (src, src), "inside": (src, src / "sub"), "stream-into-own-root": (src / "a", src)}[where]
    result = run("copy", *map(str, args))
    assert result.returncode == EXIT_USAGE and b"the destination is the source" in result.stderr


def test_a_stream_name_is_looked_up_under_the_root(tmp_path):
    src, dst = _source(tmp_path), tmp_path / "dst"
    assert run("-r", str(src), "copy", "b", str(dst), "-q").returncode == 0  # -r before the command too
    assert entries(dst, "b") == [b"only"] and not (dst / "a").exists()


def test_a_missing_source(tmp_path):
    from ironwal_cli.errors import EXIT_NOT_FOUND

    result = run("copy", str(tmp_path / "nope"), str(tmp_path / "dst"))
    assert result.returncode == EXIT_NOT_FOUND and not (tmp_path / "dst").exists()
