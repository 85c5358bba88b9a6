"""Prune never deletes the active segment or a segment holding an id at or above the checkpoint offset."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.checkpoint import create_checkpoint
from ironwal_cli.ops.prune import prune_checkpoint

entries = st.binary(max_size=40)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), entries),
        st.tuples(st.just("batch"), st.lists(entries, min_size=1, max_size=6)),
        st.tuples(st.just("checkpoint"), st.none()),
    ),
    min_size=1, max_size=40,
)


@contextmanager
def no_sync():
    with mock.patch("os.fsync"), mock.patch("os.fdatasync"):
        yield


def ranges(path: Path, next_id: int) -> dict[int, tuple[int, int]]:
    """Segment start -> (first id, one past its last id) from the files and the next segment's start."""
    starts = StreamListing.read(path).segment_ids
    return {s: (s, nxt) for s, nxt in zip(starts, starts[1:] + [next_id], strict=True)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.integers(60, 400), st.one_of(st.none(), st.integers(1, 5)), st.data())
def test_prune_keeps_the_active_segment_and_everything_at_or_above_the_offset(ops, max_size, max_entries, data):
    options = WriteOptions(max_segment_size=max_size, max_entries_per_segment=max_entries, sync="async")
    # Durability is not the property here: skip the syncs that make 100 examples slow on a real disk.
    with tempfile.TemporaryDirectory() as tmp, no_sync():
        root = Path(tmp) / "root"
        root.mkdir()
        written: list[bytes] = []
        marks: list[tuple[bytes, int]] = []
        with StreamWriter(root, "shard_00", options) as w:
            for kind, arg in ops:
                if kind == "append":
                    w.append(arg)
                    written.append(arg)
                elif kind == "batch":
                    w.append_batch(arg)
                    written.extend(arg)
                else:
                    cid = f"c{len(marks)}".encode()
                    info = create_checkpoint(root, cid, shards=1)
                    assert info.offsets == (len(written),)  # the offset is the next id, nothing else
                    marks.append((cid, len(written)))
            if not marks:
                info = create_checkpoint(root, b"end", shards=1)
                marks.append((b"end", len(written)))
        cid, offset = data.draw(st.sampled_from(marks))
        shard = root / "shard_00"
        if not written:  # no shard directory yet: nothing to prune, nothing to break
            assert prune_checkpoint(root, cid) == [] and offset == 0
            return
        layout = StreamListing.read(shard)
        active = layout.active_id()
        before = ranges(shard, len(written))
        [result] = prune_checkpoint(root, cid) if offset > 0 else [None]
        after = StreamListing.read(shard).segment_ids
        assert active in after or not before  # the active segment is never deleted
        for start, (_, end) in before.items():
            if end > offset or start == active:
                assert start in after, f"segment {start} (ids up to {end - 1}) deleted below offset {offset}"
        if result is not None:
            event(f"deleted {min(len(result.deleted), 3)}+ segments of {min(len(before), 5)}+")
            for d in result.deleted:
                assert before[d.first_id][1] <= offset
            assert StreamListing.read(shard).index_ids == [s for s in after if s in (layout.index_ids or [])]
        kept = list(StreamReader(root, "shard_00").entries(0))
        assert [e for _, e in kept] == written[kept[0][0]:] if kept else not written
        assert not kept or kept[0][0] <= offset
