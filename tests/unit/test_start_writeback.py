"""engine/store/files.start_writeback: a hint, the same from C and Python, and how the async writer uses it."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli import StreamWriter, WriteOptions
from ironwal_cli.engine.store import files
from ironwal_cli.engine.writer import frames_out as writer_module  # the writer room that writes frames
from ironwal_cli.spec import native


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(-10, 6000), st.integers(-10, 1 << 40), st.booleans())
def test_c_start_writeback_does_what_the_python_twin_does(tmp_path_factory, data, offset, length, bad_fd):
    """Nothing but a hint: None, no error (even for a descriptor that is no file), the file unchanged."""
    pair = native.twin("ironwal_cli.engine.store.files.start_writeback")
    assert pair.python is files.start_writeback_python
    path = tmp_path_factory.mktemp("wb") / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        target = 10_000 if bad_fd else fd
        for fn in (pair.python, pair.c or pair.python, files.start_writeback):
            assert fn(target, offset, length) is None
    finally:
        os.close(fd)
    assert path.read_bytes() == data


def test_an_async_writer_starts_the_writeback_of_every_step_and_still_syncs_each_rotation(tmp_path, monkeypatch):
    kicked, synced = [], []
    monkeypatch.setattr(writer_module, "WRITEBACK_STEP", 1000)
    monkeypatch.setattr(writer_module, "start_writeback", lambda fd, offset, length: kicked.append((offset, length)))
    real_fsync = writer_module.fsync_fd

    def fsync_fd(fd, data_only=False):
        synced.append(fd)
        real_fsync(fd, data_only)

    monkeypatch.setattr(writer_module, "fsync_fd", fsync_fd)
    entry = b"x" * 96
    with StreamWriter(tmp_path, "s", WriteOptions(sync="async", max_segment_size=5000)) as w:
        for _ in range(100):
            w.append_batch([entry] * 3)
        rotations = w.rotations
    assert rotations >= 5 and len(synced) >= rotations  # fix 4 unchanged: each segment left behind is synced
    assert kicked and all(length >= 1000 for _, length in kicked)
    # per segment, the ranges follow on from each other from offset 0
    assert kicked[0][0] == 0
    for (o1, l1), (o2, _) in zip(kicked, kicked[1:], strict=False):
        assert o2 in (0, o1 + l1)


def test_strict_and_batch_writers_leave_it_to_their_syncs(tmp_path, monkeypatch):
    kicked = []
    monkeypatch.setattr(writer_module, "WRITEBACK_STEP", 100)
    monkeypatch.setattr(writer_module, "start_writeback", lambda *a: kicked.append(a))
    for sync in ("strict", "batch"):
        with StreamWriter(tmp_path, sync, WriteOptions(sync=sync)) as w:
            w.append_batch([b"y" * 500] * 4)
    assert kicked == []
