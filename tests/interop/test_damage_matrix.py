"""The damage matrix of issue 11, with the real crate as the oracle.

For each kind of damage this records what the crate's own replay (``iter(s, 0)``, ``get``,
``iter_from``) sees before and after ``ironwal recover``, and holds the rules a ledger on the
crate needs:

- every entry recover kept is delivered by the crate's ``iter(0)``, in id order, or the iterator
  fails loudly (an error, not an early end) at the first lost id, which lost.idx records; the
  crate's ``get`` of that id fails, and ``iter_from`` the first id after the loss reads on;
- recover keeps every entry the damage did not touch, at its id;
- after the repair an append by the crate, then one by ironwal, get the next ids (no duplicate, no
  id below what a reader has seen), and both entries are reachable by both;
- our verify is clean after the repair, and again after those appends.

````tests/conftest.py`` prints, at the end of the run, one row per damage kind: what the crate's replay
delivered before the repair, after it, and how many entries recover kept.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from crate_oracle import RootReplay, StreamReplay, dump, dump_sharded, record_damage_row, write

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.lost_ids import covers
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.recover import recover
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.ops.verify import verify_root
from ironwal_cli.spec.codec import encode_head_state, encode_index

REPO = Path(__file__).resolve().parents[2]
OLD_SPLIT = REPO / "format" / "samples" / "split-by-8eda8bd" / "root"
SEGMENTS, FRAMES, PER_FRAME = 3, 3, 5  # segments of 3 frames of 5 entries: ids 0..14, 15..29, 30..44
OLDER, ACTIVE = 0, SEGMENTS - 1
HEADER_FIELDS = {"magic": 0, "crc": 4, "start_id": 8, "entry_count": 16, "frame_type": 20, "disk_size": 21,
                 "uncompressed_size": 25, "reserved": 29}


def entry(i: int) -> bytes:
    """Entries are bytes: an empty one, newlines, NULs and high bytes among them."""
    return b"" if i == 7 else b"e%d\n\x00\xff" % i + bytes([i % 256]) * (i % 5)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "wal"
    with StreamWriter(root, "s", WriteOptions(max_entries_per_segment=FRAMES * PER_FRAME)) as w:
        for f in range(SEGMENTS * FRAMES):
            w.append_batch([entry(f * PER_FRAME + k) for k in range(PER_FRAME)])
    assert len(StreamListing.read(root / "s").segment_ids) == SEGMENTS
    return root


# ----- the damage kinds -------------------------------------------------------------------------

def _segment(root: Path, index: int) -> Path:
    layout = StreamListing.read(root / "s")
    return layout.segment_path(layout.segment_ids[index])


def _frame(root: Path, seg: int, index: int) -> tuple[Path, Frame]:
    path = _segment(root, seg)
    return path, [f for f in scan(map_file(path)) if isinstance(f, Frame)][index]


def _edit(path: Path, change: Callable[[bytearray], None]) -> None:
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))


def _flip_header(field: str, seg: int) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path, f = _frame(root, seg, 1)
        _edit(path, lambda d: d.__setitem__(f.offset + HEADER_FIELDS[field], d[f.offset + HEADER_FIELDS[field]] ^ 1))
    return damage


def _flip_payload(seg: int) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path, f = _frame(root, seg, 1)
        _edit(path, lambda d: d.__setitem__(f.offset + 36, d[f.offset + 36] ^ 0x10))
    return damage


def _cut_frame(seg: int) -> Callable[[Path], None]:
    """The frame cut cleanly out (issue 11 item 2): no damaged byte is left, only an id skip."""
    def damage(root: Path) -> None:
        path, f = _frame(root, seg, 1)
        _edit(path, lambda d: d.__delitem__(slice(f.offset, f.end_offset)))
    return damage


def _insert_between(data: bytes) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path, f = _frame(root, OLDER, 1)
        _edit(path, lambda d: d.__setitem__(slice(f.offset, f.offset), data))
    return damage


def _truncate_last(at: Callable[[Frame], int]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path, f = _frame(root, ACTIVE, FRAMES - 1)
        os.truncate(path, at(f))
    return damage


def _index(ids_of: Callable[[list[int]], bytes]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        idx = root / "s" / "segments.idx"
        idx.write_bytes(ids_of(StreamListing.read(root / "s").index_ids))
    return damage


@dataclass(frozen=True)
class Case:
    damage: Callable[[Path], None]
    may_lose: tuple[int, int] | None  # ids the damage may take with it; every other entry must be kept
    source: Path | None = None  # a root to start from instead of the pristine one


CASES: dict[str, Case] = {
    "torn tail (active)": Case(_truncate_last(lambda f: f.offset + 32 + f.header.disk_size // 2), (40, 45)),
    "cut inside a header (active)": Case(_truncate_last(lambda f: f.offset + 10), (40, 45)),
    **{f"flip {field} ({where})": Case(_flip_header(field, seg), (base + 5, base + 10))
       for field in HEADER_FIELDS for where, seg, base in (("older", OLDER, 0), ("active", ACTIVE, 30))},
    "flip payload (older)": Case(_flip_payload(OLDER), (5, 10)),
    "flip payload (active)": Case(_flip_payload(ACTIVE), (35, 40)),
    "garbage between frames": Case(_insert_between(bytes(random.Random(3).randrange(256) for _ in range(77))), None),
    "zeros between frames": Case(_insert_between(bytes(64)), None),
    "frame cut out (older)": Case(_cut_frame(OLDER), (5, 10)),
    "frame cut out (active)": Case(_cut_frame(ACTIVE), (35, 40)),
    "deleted middle segment": Case(lambda r: _segment(r, 1).unlink(), (15, 30)),
    "deleted first segment": Case(lambda r: _segment(r, 0).unlink(), (0, 15)),
    "segments.idx bit 62 flipped": Case(_index(lambda ids: encode_index([*ids[:-1], ids[-1] | 1 << 62])), None),
    "segments.idx odd length": Case(_index(lambda ids: encode_index(ids) + b"\x01\x02\x03"), None),
    "segments.idx missing a segment": Case(_index(lambda ids: encode_index([ids[0], ids[2]])), None),
    "head.state garbage": Case(lambda r: (r / "s" / "head.state").write_bytes(b"\x07garbage"), None),
    "head.state names an older segment": Case(
        lambda r: (r / "s" / "head.state").write_bytes(encode_head_state(_segment(r, 0).name)), None),
    "split by recover of 8eda8bd": Case(lambda r: None, (5, 10), OLD_SPLIT),
}


# ----- the crate's view -------------------------------------------------------------------------

def _seen(replay: RootReplay, stream: str = "s") -> str:
    """What a replay from 0 delivered, for the table: "N", "N, then error at I", "N, silent stop"."""
    if not replay.opened:
        return "cannot open"
    s = replay.streams.get(stream, StreamReplay())
    return f"{len(s.order)}" + (f", then error at {s.error_at}" if s.error is not None else "")


def _ours(root: Path) -> dict[int, bytes]:
    return dict(StreamReader(root, "s", allow_gaps=True).entries(0))


def _assert_loud_or_complete(replay: StreamReplay, kept: dict[int, bytes], lost: list[tuple[int, int]]) -> None:
    """The rule of issue 11: every kept entry in id order, or an error at the first lost id."""
    expect = sorted(kept)
    assert replay.order == expect[:len(replay.order)], (replay.order, expect)
    assert all(replay.entries[i] == kept[i] for i in replay.order)
    if len(replay.order) < len(expect):
        at = replay.order[-1] + 1 if replay.order else 0
        assert replay.error is not None, f"the crate's replay ended silently after {len(replay.order)} entries"
        assert replay.error_at == at and at not in kept and covers(lost, at, at + 1), (replay.error_at, at, lost)
        assert isinstance(replay.gets.get(at), str) and replay.gets[at].startswith("error"), replay.gets.get(at)


def _assert_appends_continue(root: Path) -> None:
    """The crate appends, then ironwal: consecutive ids after everything a reader saw, both readable."""
    expected = StreamReader(root, "s").next_id()
    value = {"b64": base64.b64encode(b"by\ncrate").decode()}
    results = write(root, {"ops": [{"op": "append", "stream": "s", "value": value}]})
    crate_id = next(r["id"] for r in results if r.get("op") == "append")
    assert crate_id == expected, (crate_id, expected)
    ours = append_values(root, "s", [b"by\x00ironwal"])
    assert ours == range(crate_id + 1, crate_id + 2)
    seen = dump(root, "--iter-from", str(crate_id), "--get", str(crate_id), "--get", str(crate_id + 1)).streams["s"]
    assert seen.gets[crate_id] == b"by\ncrate" and seen.gets[crate_id + 1] == b"by\x00ironwal"
    assert seen.iter_from[crate_id]["count"] == 2 and seen.iter_from[crate_id]["error"] is None
    later = [v for _, v in StreamReader(root, "s", allow_gaps=True).entries(crate_id)]
    assert later == [b"by\ncrate", b"by\x00ironwal"]
    assert verify_root(root, jobs=1).ok, [str(p) for p in verify_root(root, jobs=1).problems]


@pytest.mark.parametrize("kind", list(CASES))
def test_damage_matrix(tmp_path, pristine, kind, record_property):
    case = CASES[kind]
    root = tmp_path / "wal"
    shutil.copytree(case.source or pristine, root)
    written = {i: entry(i) for i in range(SEGMENTS * FRAMES * PER_FRAME)} if case.source is None else _ours(root)
    case.damage(root)
    before = dump(root)

    report = recover(root)
    layout = StreamListing.read(root / "s")
    kept = _ours(root)
    must_keep = {i: v for i, v in written.items()
                 if case.may_lose is None or not case.may_lose[0] <= i < case.may_lose[1]}
    assert must_keep.items() <= kept.items(), sorted(set(must_keep) - set(kept))
    assert all(written.get(i) == v for i, v in kept.items())  # nothing invented, nothing renumbered
    problems = verify_root(root, jobs=1).problems
    assert not problems, [str(p) for p in problems]
    assert not recover(root, dry_run=True).repairs_needed

    resumes = [str(b) for _, b in layout.lost]
    after = dump(root, *(x for b in resumes for x in ("--iter-from", b)))
    record_damage_row(record_property, kind, _seen(before), _seen(after), len(kept))
    assert after.opened, after.open_error
    replay = after.streams["s"]
    _assert_loud_or_complete(replay, kept, layout.lost)
    for (_, b) in layout.lost:  # iter_from the id after each loss reads on to the next one
        if b in kept:
            assert replay.iter_from[b]["error"] is None or replay.iter_from[b]["count"] > 0
            assert base64.b64decode(replay.iter_from[b]["first_b64"]) == kept[b]
    if layout.lost:  # recover said so: which ids, where the crate fails, where to resume
        first = layout.lost[0]
        assert report.replay["s"] == {"lost": [list(r) for r in layout.lost], "fails_at": first[0],
                                      "resume_at": first[1]}
        assert any(m.startswith(f"ids {first[0]}..{first[1] - 1} are lost") for _, m in report.notes) or \
            case.source is not None
    _assert_appends_continue(root)


def test_before_repair_the_old_split_stops_silently_and_verify_says_so(tmp_path):
    """The defect itself, on the root 8eda8bd's recover left: the crate's replay ends after id 4 with no
    error although ids 10..19 are there; verify reports replay_stops_silently though lost.idx records it."""
    root = tmp_path / "wal"
    shutil.copytree(OLD_SPLIT, root)
    replay = dump(root, "--iter-from", "10").streams["s"]
    assert replay.order == [0, 1, 2, 3, 4] and replay.error is None and replay.iter_from[10]["count"] == 10
    report = verify_root(root, jobs=1)
    assert [p.kind for p in report.problems] == ["replay_stops_silently"]
    stop = report.replays["s"].first_stop
    assert (stop.at_id, stop.how, stop.resume_id) == (5, "stops_silently", 10)


def test_a_bad_crc_frame_fails_the_crates_iter_and_get_but_not_later_ids(tmp_path, pristine):
    """The fact the filler design rests on, proven here: a complete frame whose CRC does not match makes
    iter fail ("CRC32 Checksum Mismatch", at_id N) and get(N) fail, while get and iter_from of later ids work."""
    root = tmp_path / "wal"
    shutil.copytree(pristine, root)
    _flip_payload(OLDER)(root)
    replay = dump(root, "--iter-from", "10", "--get", "10").streams["s"]
    assert replay.order == list(range(5)) and "CRC32 Checksum Mismatch" in replay.error and replay.error_at == 5
    assert replay.gets[5].startswith("error") and replay.gets[10] == entry(10)
    assert replay.iter_from[10]["count"] == 35 and replay.iter_from[10]["error"] is None


def test_a_hole_in_the_active_segment_would_make_the_crate_reuse_ids(tmp_path, pristine):
    """Why recover fills a hole instead of leaving it: the crate counts the active segment's ids as the sum
    of entry_count over its frames, so with frame 35..39 cut out it hands out id 40 again. After recover
    the filler frame is counted and the crate's next id is 45."""
    root = tmp_path / "wal"
    shutil.copytree(pristine, root)
    _cut_frame(ACTIVE)(root)
    crate_first = tmp_path / "crate-first"
    shutil.copytree(root, crate_first)
    results = write(crate_first, {"ops": [{"op": "append", "stream": "s", "value": "dup"}]})
    assert [r["id"] for r in results if r.get("op") == "append"] == [40]  # a duplicate of an existing id
    recover(root)
    results = write(root, {"ops": [{"op": "append", "stream": "s", "value": "next"}]})
    assert [r["id"] for r in results if r.get("op") == "append"] == [45]


# ----- sharded roots: checkpoints.log and HEAD ----------------------------------------------------

SHARDS = 2
KEYS = [b"alice", b"bob", b"carol", b"dave", b"erin", b"frank"]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sharded") / "wal"
    ops = []
    for n, key in enumerate(KEYS):
        ops.append({"op": "append", "key": key.decode(), "value": f"v{n}"})
        ops.append({"op": "create_checkpoint", "id": f"c{n}"})
    write(root, {"shards": SHARDS, "ops": ops})
    return root


def _flip_record(root: Path) -> None:
    _edit(root / "checkpoints.log", lambda d: d.__setitem__(30, d[30] ^ 0x04))  # inside the first record


SHARDED_CASES: dict[str, Callable[[Path], None]] = {
    "checkpoints.log bit flip": _flip_record,
    "checkpoints.log torn": lambda r: os.truncate(r / "checkpoints.log", (r / "checkpoints.log").stat().st_size - 7),
    "checkpoints.log garbage appended": lambda r: open(r / "checkpoints.log", "ab").write(b"\x00garbage" * 3),
    "HEAD garbage": lambda r: (r / "HEAD").write_bytes(b"\xff\xff\x01"),
    "HEAD names a lost checkpoint": lambda r: (r / "HEAD").write_bytes(b"\x04\x00gone"),
}


def _sharded_seen(lines: list[dict]) -> str:
    """For the table: entries the crate's ShardedWal iterates (all shards), and its latest checkpoint."""
    if not lines or not lines[0].get("ok"):
        return "cannot open"
    count = sum(line["count"] for line in lines if line.get("kind") == "shard")
    latest = next((line for line in lines if line.get("kind") == "latest"), {})
    return f"{count}, latest " + (str(latest["id"]) if "id" in latest else f"error: {latest.get('error', '?')}"[:40])


def _shard_entries(root: Path) -> dict[str, dict[int, bytes]]:
    replay = dump(root)
    assert replay.opened, replay.open_error
    for name, s in replay.streams.items():
        assert s.error is None, (name, s.error)
    return {name: s.entries for name, s in replay.streams.items()}


@pytest.mark.parametrize("kind", list(SHARDED_CASES))
def test_sharded_damage_matrix(tmp_path, sharded, kind, record_property):
    root = tmp_path / "wal"
    shutil.copytree(sharded, root)
    entries = _shard_entries(root)
    SHARDED_CASES[kind](root)
    before = dump_sharded(root, SHARDS)
    recover(root)
    assert verify_root(root, jobs=1).ok, [str(p) for p in verify_root(root, jobs=1).problems]
    assert _shard_entries(root) == entries  # checkpoint damage never costs an entry
    after = dump_sharded(root, SHARDS)
    assert after[0].get("ok"), after[0]
    latest = next(line for line in after if line.get("kind") == "latest")
    assert "error" not in latest and latest["shard_count"] == SHARDS, latest
    count = sum(len(e) for e in entries.values())
    assert _sharded_seen(after) == f"{count}, latest {latest['id']}"
    record_damage_row(record_property, kind, _sharded_seen(before), _sharded_seen(after), count)
    # appends go on at the right ids: the crate's, then ours, on the same key's shard
    key = KEYS[0]
    results = write(root, {"shards": SHARDS, "ops": [{"op": "append", "key": key.decode(), "value": "late"}]})
    crate = next(r for r in results if r.get("op") == "append")
    shard = f"shard_{crate['shard']:02d}"
    assert crate["id"] == len(entries[shard])
    got_shard, ids = append_keyed(root, key, [b"later"], shards=SHARDS)
    assert got_shard == crate["shard"] and list(ids) == [crate["id"] + 1]
    assert verify_root(root, jobs=1).ok


@pytest.mark.parametrize("kind", ["deleted middle segment", "segments.idx missing a segment",
                                  "segments.idx bit 62 flipped", "flip payload (older)", "frame cut out (older)"])
def test_verify_says_where_the_crates_replay_stops_before_repair(tmp_path, pristine, kind):
    """verify's replay view of a damaged root agrees with the crate: the first id its iter(0) does not
    deliver, and whether it fails there (an error) or stops silently."""
    root = tmp_path / "wal"
    shutil.copytree(pristine, root)
    CASES[kind].damage(root)
    replay = dump(root).streams["s"]
    stop = verify_root(root, jobs=1).replays["s"].first_stop
    assert stop is not None and stop.at_id == len(replay.order), (stop, replay.order)
    assert stop.how == ("fails" if replay.error is not None else "stops_silently"), (stop, replay.error)
