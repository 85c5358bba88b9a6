"""The crate's sharded roots read back exactly as its own dump says, and replays write its bytes.

expected.jsonl (first line): checkpoints (id hex, timestamp; oldest first), latest (HEAD, else
newest), and every checkpoint's data; then one line per entry of each shard, from its first id.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.seals import SEALS_NAME
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.checkpoint import compact_checkpoints, create_checkpoint, list_checkpoints, show_checkpoint
from ironwal_cli.ops.prune import prune_checkpoint, prune_stream
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.sharded.checkpoints import CheckpointLog, log_path, read_head
from ironwal_cli.sharded.routing import route

CONFORMANCE = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance"
SHARDED = sorted(p.name for p in CONFORMANCE.glob("sharded-*"))


def load_case(name: str) -> tuple[dict, dict, list[dict]]:
    case = json.loads((CONFORMANCE / name / "case.json").read_text())
    lines = [json.loads(line) for line in (CONFORMANCE / name / "expected.jsonl").read_text().splitlines()]
    return case, lines[0], lines[1:]


def tree(root: Path) -> dict[str, bytes]:
    """Every file but ``seals.idx`` (our stat cache, never the crate's)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != SEALS_NAME}


def test_every_sharded_case_is_covered():
    assert SHARDED == ["sharded-async-offsets", "sharded-basic", "sharded-compact", "sharded-prune"]


@pytest.mark.parametrize("name", SHARDED)
def test_checkpoints_and_latest_as_the_crate_reads_them(name):
    case, summary, _ = load_case(name)
    root = CONFORMANCE / name / "root"
    infos = list_checkpoints(root)
    assert [[i.checkpoint_id.hex(), i.timestamp_ns] for i in infos] == summary["checkpoints"]
    assert [[i.checkpoint_id.hex(), i.timestamp_ns, i.shard_count, list(i.offsets)] for i in infos] \
        == summary["checkpoint_data"]
    latest, positions = show_checkpoint(root)
    assert [latest.checkpoint_id.hex(), list(latest.offsets)] == summary["latest"]
    assert latest.is_latest and sum(i.is_latest for i in infos) == 1
    assert [p.offset for p in positions] == summary["latest"][1]
    assert all(i.shard_count == case["shard_count"] for i in infos)


@pytest.mark.parametrize("name", SHARDED)
def test_entries_of_every_shard(name):
    case, _, entries = load_case(name)
    root = CONFORMANCE / name / "root"
    got = []
    for shard in range(case["shard_count"]):
        stream = f"shard_{shard:02d}"
        if not (root / stream).is_dir():
            continue
        for i, entry in StreamReader(root, stream).entries(0):
            got.append({"shard": shard, "id": i, "hex": entry.hex()})
    assert got == entries
    assert len(got) > 0


def test_routing_is_pinned_to_the_crates_choices():
    """Every key the crate routed (single appends, batches, the routes table), at its shard count."""
    pinned = []
    for name in SHARDED:
        case, _, _ = load_case(name)
        count = case["shard_count"]
        for op in case["operations"]:
            if "returned_shard" in op:
                pinned.append((bytes.fromhex(op["key_hex"]), count, op["returned_shard"]))
            if op["op"] == "sharded_append_batch":
                pinned += [(bytes.fromhex(p["key_hex"]), count, r[0])
                           for p, r in zip(op["pairs"], op["returned"], strict=True)]
        pinned += [(key.encode(), count, shard) for key, shard in case.get("routes", [])]
    assert len(pinned) > 400
    assert len({shard for _, _, shard in pinned}) == 4  # every shard of the 4-shard case is hit
    assert [(k, n, route(k, n)) for k, n, _ in pinned] == pinned


def _replay(name: str, root: Path) -> list[dict]:
    """Run a sharded case's operations with our writer; returns the checkpoint ops it met."""
    case, _, _ = load_case(name)
    count = case["shard_count"]
    options = None
    seen = []
    for op in case["operations"]:
        if op["op"] == "open_sharded":
            options = WriteOptions(max_segment_size=op["options"]["max_segment_size"])
        elif op["op"] == "sharded_append":
            shard, ids = append_keyed(root, bytes.fromhex(op["key_hex"]), [bytes.fromhex(op["value_hex"])],
                                      shards=count, options=options)
            assert (shard, ids.start) == (op["returned_shard"], op["returned_id"])
        elif op["op"] == "create_checkpoint":
            info = create_checkpoint(root, bytes.fromhex(op["id_hex"]), shards=count)
            assert list(info.offsets) == op["recorded_offsets"]
            seen.append(op)
        elif op["op"] == "prune_before_checkpoint":
            results = prune_checkpoint(root, bytes.fromhex(op["id_hex"]))
            assert sum(len(r.deleted) for r in results) == op["returned_segments_deleted"]
            assert sum(1 for r in results if r.deleted) == op["returned_shards_pruned"]
            seen.append(op)
    return seen


@pytest.mark.parametrize("name", ["sharded-basic", "sharded-prune"])
def test_replay_writes_the_crates_shard_bytes(tmp_path, name):
    """Same appends, checkpoints (and prune) with our tool: every shard file byte-identical to the crate's."""
    root = tmp_path / "root"
    _replay(name, root)
    ours, theirs = tree(root), tree(CONFORMANCE / name / "root")
    shard_files = sorted(k for k in theirs if k.startswith("shard_"))
    assert sorted(k for k in ours if k.startswith("shard_")) == shard_files
    assert all(ours[k] == theirs[k] for k in shard_files)
    assert ours["HEAD"] == theirs["HEAD"]
    # The log differs from the crate's only in the timestamps.
    def cut(path: Path) -> list:
        return [(r.checkpoint.checkpoint_id, r.checkpoint.offsets) for r in CheckpointLog.read(path).records]

    assert cut(root / "checkpoints.log") == cut(CONFORMANCE / name / "root" / "checkpoints.log")
    assert len(ours["checkpoints.log"]) == len(theirs["checkpoints.log"])


def test_compact_of_the_prune_root_gives_the_crates_log(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(CONFORMANCE / "sharded-prune" / "root", root)
    before = (root / "checkpoints.log").read_bytes()
    head = (root / "HEAD").read_bytes()
    result = compact_checkpoints(root, 1)
    expected = (CONFORMANCE / "sharded-compact" / "root" / "checkpoints.log").read_bytes()
    assert (root / "checkpoints.log").read_bytes() == expected
    assert (root / "HEAD").read_bytes() == head  # compaction leaves HEAD as it was
    assert result.bytes_reclaimed == 43 and result.before == 2
    assert [c.checkpoint_id for c in result.dropped] == [b"c0"]
    archive = tmp_path / "root.quarantine" / "checkpoints-archive.log"
    assert archive.read_bytes() == before[:len(before) - len(expected)]  # c0's record, byte for byte
    assert [i.checkpoint_id for i in list_checkpoints(root, archive=True)] == [b"c0"]
    assert tree(root) == tree(CONFORMANCE / "sharded-compact" / "root")


def test_truncate_case_replayed_with_our_writer_and_prune(tmp_path):
    """The plain truncate case: our appends + prune leave the crate's root byte for byte."""
    case = json.loads((CONFORMANCE / "truncate" / "case.json").read_text())
    root = tmp_path / "root"
    options = None
    for op in case["operations"]:
        if op["op"] == "open":
            options = WriteOptions(max_segment_size=op["options"]["max_segment_size"])
        elif op["op"] == "append":
            with StreamWriter(root, op["stream"], options) as w:
                assert w.append(bytes.fromhex(op["hex"])) == op["returned_id"]
        elif op["op"] == "truncate":
            listing = {e["file"]: e["size"] for e in op["listing_before"] if "file" in e}
            assert {k: len(v) for k, v in tree(root).items()} == listing
            result = prune_stream(root, op["stream"], op["safe_id"])
            assert len(result.deleted) == op["returned_deleted_segments"]
            listing = {e["file"]: e["size"] for e in op["listing_after"] if "file" in e}
            assert {k: len(v) for k, v in tree(root).items()} == listing
    assert tree(root) == tree(CONFORMANCE / "truncate" / "root")
    assert read_head(root) is None and not log_path(root).exists()
