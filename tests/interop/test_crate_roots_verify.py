"""Zero false positives: every root the crate writes verifies clean with ``ironwal verify``, and
ironwal reads exactly what the crate's own ``iter``/``get`` read from it.

Roots come from ``iwref write`` scripts that hypothesis draws (crate_scripts.py: every option,
pre-created stream directories, rotations by size and count, LZ4, reopens, truncate, sharded
roots with checkpoints, compaction, prune), plus explicit cases for the shapes that once gave
false positives (a stream directory that existed before the crate's first write, then rotated:
``segments.idx`` = [2, 4, ...] without 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crate_oracle import dump, write
from crate_scripts import plain_scripts, sharded_scripts
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.errors import NotFoundError
from ironwal_cli.ops.read import get_entry, read_batches
from ironwal_cli.spec.codec import decode_index

FAST = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def verify_json(root: Path) -> dict:
    result = CliRunner().invoke(app, ["verify", "-r", str(root), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 1), result.output
    return report


def assert_nothing_to_repair(root: Path) -> None:
    """``recover -n`` agrees with verify: a healthy crate root needs no repair (exit 0)."""
    result = CliRunner().invoke(app, ["recover", "-n", "-r", str(root)])
    assert result.exit_code == 0 and "nothing to repair" in result.output, result.output


def ironwal_view(root: Path, stream: str) -> list[tuple[int, bytes]]:
    return [(i, e) for first, batch in read_batches(root, stream, from_id=0, last=None)
            for i, e in enumerate(batch, first)]


def ironwal_get(root: Path, stream: str, entry_id: int) -> bytes | None:
    try:
        return get_entry(root, stream, entry_id)
    except NotFoundError:
        return None


def assert_reads_agree(root: Path) -> None:
    """Per stream: ironwal's read from the start is the crate's iter from the stream's first id,
    entry for entry, and every id ironwal reads (and a few past the end) the crate's get answers
    the same. From 0 the crate's iter of a truncated stream returns nothing at all (its lookup
    finds no segment at or below 0; FORMAT.md, "segments.idx"), so the start is the first id."""
    for name in sorted(p.name for p in root.iterdir() if p.is_dir()):
        ours = ironwal_view(root, name)
        first = StreamReader(root, name, name_is_dir=True).first_id
        asked = [i for i, _ in ours] + [first, *(len(ours) and ours[-1][0] + k for k in (1, 2, 3))]
        gets = [arg for i in asked for arg in ("--get", str(i))]
        replay = dump(root, "--iter-from", str(first), *gets, stream=name)
        assert replay.opened, replay.open_error
        stream = replay.streams[name]
        assert stream.error is None, (name, stream.error)
        if first == 0:
            assert ours == [(i, stream.entries[i]) for i in stream.order], name
        else:
            assert stream.order == [], name  # the crate's iter(0) of a truncated stream
        summary = stream.iter_from[first]
        assert summary["error"] is None and summary["count"] == len(ours), (name, summary)
        for entry_id in asked:
            ours_get = ironwal_get(root, name, entry_id)
            assert stream.gets[entry_id] == ours_get, (name, entry_id)
        assert [stream.gets[i] for i, _ in ours] == [e for _, e in ours]


def crate_truncate_left_segment_0(root: Path, report: dict) -> bool:
    """The one finding on a crate-written root that is no false positive (FORMAT.md,
    "segments.idx"): the crate's ``truncate`` deletes only segments its index lists, so a segment 0
    it never listed (a stream directory made before its first write) stays, with a hole after it;
    the crate's own ``iter(0)`` then returns segment 0's entries and stops there silently."""
    if not report["problems"]:
        return False
    for problem in report["problems"]:
        stream = root / problem["path"].split("/")[0]
        ids = decode_index((stream / "segments.idx").read_bytes())
        if problem["kind"] not in ("segment_gap", "replay_stops_silently") or 0 in ids \
                or not (stream / f"{0:020d}.wal").exists():
            return False
        if not problem["path"].endswith(f"{ids[0]:020d}.wal"):
            return False
        replay = dump(root, stream=stream.name).streams[stream.name]
        assert replay.error is None and max(replay.order, default=-1) < ids[0]  # stops silently, as said
    return True


def run_plain(root: Path, script: dict, pre: list[str]) -> None:
    for name in pre:
        (root / name).mkdir(parents=True, exist_ok=True)
    write(root, script)
    report = verify_json(root)
    if not crate_truncate_left_segment_0(root, report):
        assert report["ok"], (script, pre, report["problems"])
        assert_nothing_to_repair(root)
        assert_reads_agree(root)


@FAST
@given(case=plain_scripts())
def test_crate_plain_roots_verify_clean_and_read_the_same(tmp_path_factory, case):
    script, pre = case
    run_plain(tmp_path_factory.mktemp("crate") / "root", script, pre)


@FAST
@given(script=sharded_scripts())
def test_crate_sharded_roots_verify_clean_and_read_the_same(tmp_path_factory, script):
    root = tmp_path_factory.mktemp("crate") / "root"
    write(root, script)
    assert verify_json(root)["ok"], script
    assert_nothing_to_repair(root)
    assert_reads_agree(root)


EXPLICIT = {
    "pre-created, rotated by count": ({"options": {"max_entries_per_segment": 2},
                                       "ops": [{"op": "append_many", "stream": "s", "count": 11, "fmt": "v{i}"}]},
                                      ["s"]),
    "pre-created, rotated by size, reopened, lz4": (
        {"options": {"max_segment_size": 200, "compression": True, "min_compression_size": 16},
         "ops": [{"op": "append_many", "stream": "s", "count": 9, "fmt": "entry {i} " + "x" * 60},
                 {"op": "reopen"}, {"op": "append", "stream": "s", "value": "after"}]}, ["s"]),
    "pre-created, one write": ({"options": {}, "ops": [{"op": "append", "stream": "s", "value": "a"}]}, ["s"]),
    "truncate of a crate-made stream": ({"options": {"max_entries_per_segment": 3},
                                         "ops": [{"op": "append_many", "stream": "s", "count": 14, "fmt": "{i}"},
                                                 {"op": "truncate", "stream": "s", "id": 8}, {"op": "reopen"},
                                                 {"op": "append", "stream": "s", "value": "z"}]}, []),
    "every sync mode, batches across segments": (
        {"options": {"sync": "async", "max_entries_per_segment": 4, "write_buffer_size": 64},
         "ops": [{"op": "append_batch", "stream": "s", "values": [str(i) for i in range(10)]},
                 {"op": "append_batch", "stream": "s", "values": []}, {"op": "reopen"},
                 {"op": "append_batch", "stream": "s", "values": ["", "\n", {"hex": "00ff"}]}]}, []),
}


@pytest.mark.parametrize("name", EXPLICIT)
def test_explicit_crate_roots(tmp_path, name):
    script, pre = EXPLICIT[name]
    run_plain(tmp_path / "root", script, pre)
    assert verify_json(tmp_path / "root")["ok"]


def test_index_without_segment_0_is_what_the_crate_writes_and_reads(tmp_path):
    """Proven with the crate: a directory made before its first write gets segment 0 unlisted;
    the crate's iter and get read segment 0 all the same; verify and recover leave it be."""
    root = tmp_path / "root"
    (root / "s").mkdir(parents=True)
    write(root, EXPLICIT["pre-created, rotated by count"][0])
    assert decode_index((root / "s" / "segments.idx").read_bytes()) == [2, 4, 6, 8, 10]
    replay = dump(root).streams["s"]
    assert replay.order == list(range(11)) and replay.gets[0] == b"v0"
    assert verify_json(root)["ok"]
    assert_nothing_to_repair(root)


def test_crate_truncate_leaves_an_unlisted_segment_0(tmp_path):
    """The crate's truncate after a pre-created directory: segment 0 stays (it is not in the index),
    the segment after it is gone; verify reports that hole (the crate's replay from 0 stops there
    silently), and nothing else."""
    root = tmp_path / "root"
    (root / "s").mkdir(parents=True)
    write(root, {"options": {"max_entries_per_segment": 2},
                 "ops": [{"op": "append_many", "stream": "s", "count": 7, "fmt": "v{i}"},
                         {"op": "truncate", "stream": "s", "id": 5}]})
    report = verify_json(root)
    assert [p["kind"] for p in report["problems"]] == ["replay_stops_silently", "segment_gap"]
    assert crate_truncate_left_segment_0(root, report)
    stop = report["replay"]["s"]["stop"]  # what verify says the crate's replay does: ends after id 1
    assert stop["how"] == "stops_silently" and stop["at_id"] == 2, stop


def test_explicit_sharded_root_with_checkpoints_compaction_and_prune(tmp_path):
    root = tmp_path / "root"
    write(root, {"options": {"max_entries_per_segment": 3, "sync": "batch"}, "shards": 3, "ops": [
        *({"op": "append", "key": f"k{i % 5}", "value": f"v{i}"} for i in range(30)),  # rotations
        {"op": "append_batch", "entries": [[f"k{i % 5}", f"w{i}"] for i in range(10)]},
        {"op": "create_checkpoint", "id": "a"},
        {"op": "append_batch_for_key", "key": "k1", "values": ["x", "", {"hex": "00ff0a"}]},
        {"op": "create_checkpoint", "id": "b"},
        {"op": "reopen"},
        {"op": "append", "key": {"hex": "ff00"}, "value": "y"},
        {"op": "create_checkpoint", "id": "c"},
        {"op": "compact_checkpoints", "keep": 2},
        {"op": "prune_before_checkpoint", "id": "c"}]})
    report = verify_json(root)
    assert report["ok"], report["problems"]
    assert_nothing_to_repair(root)
    assert_reads_agree(root)
    assert any(StreamReader(root, f"shard_{s:02d}", name_is_dir=True).first_id > 0 for s in range(3))  # pruned
