"""A routed append makes its new shards side by side (ops.sharded_append.create_together, through
``StreamWriter.create``): each exactly as its first append would, and an error still surfaces."""

from __future__ import annotations

import pytest

from ironwal_cli.engine.store.names import INDEX_NAME
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import UsageError
from ironwal_cli.ops.sharded_append import create_together, open_sharded
from ironwal_cli.sharded.routing import shard_name


def test_create_makes_the_stream_as_a_first_append_would_and_writes_nothing(tmp_path):
    with StreamWriter(tmp_path, "s", WriteOptions(sync="async")) as writer:
        writer.create()
        assert (tmp_path / "s" / INDEX_NAME).is_file() and writer.next_id == 0
        writer.create()  # an existing stream: nothing changes
        assert writer.append_batch([b"a", b"b"]) == range(0, 2)
        writer.create()
        assert writer.append(b"c") == 2


def test_shards_made_together_take_their_appends_in_order(tmp_path):
    writers = [StreamWriter(tmp_path, shard_name(s), WriteOptions(sync="async")) for s in range(8)]
    try:
        create_together(writers)
        assert sorted(p.name for p in tmp_path.iterdir()) == [shard_name(s) for s in range(8)]
        for s, writer in enumerate(writers):
            assert writer.append_batch([b"x"] * s) == range(0, s)
    finally:
        for writer in writers:
            writer.close()


def test_an_error_of_one_creation_is_raised_once_all_are_done(tmp_path):
    open_sharded(tmp_path, 5)  # a sharded root (its checkpoints.log), then
    (tmp_path / shard_name(3)).write_bytes(b"")  # a file where a shard's directory would go
    writers = [StreamWriter(tmp_path, shard_name(s), WriteOptions(sync="async")) for s in range(5)]
    try:
        with pytest.raises(UsageError, match="not a stream directory"):
            create_together(writers)
        assert all((tmp_path / shard_name(s) / INDEX_NAME).is_file() for s in (0, 1, 2, 4))
    finally:
        for writer in writers:
            writer.close()
