"""The writer seals the active segment when it ends with everything synced, and the next writer
trusts that seal instead of checking every CRC of the segment again (engine/store/seals.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.seals import COMPACT_AT, SEALS_NAME, read_seals
from ironwal_cli.engine.writer import active_segment, frames_out
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import DamagedTailError

SEGMENT = "00000000000000000000.wal"


@pytest.fixture
def scanned(monkeypatch) -> list[int]:
    """How many bytes each writer's check of the active segment scanned."""
    seen: list[int] = []
    real = active_segment.scan

    def spy(data, start=0, *args, **kwargs):
        seen.append(len(data) - start)
        return real(data, start, *args, **kwargs)

    monkeypatch.setattr(active_segment, "scan", spy)
    return seen


def entries_of(root: Path) -> list[bytes]:
    return [e for _, e in StreamReader(root, "s").entries(0)]


def test_the_next_writer_trusts_the_seal_and_scans_nothing(root, scanned):
    with StreamWriter(root, "s") as w:
        for k in range(50):
            w.append(b"entry %d" % k)
    assert scanned == []  # a new stream: nothing to check
    seal = read_seals(root / "s")[0][-1]
    assert (seal.start_id, seal.end_id, seal.size) == (0, 50, (root / "s" / SEGMENT).stat().st_size)
    with StreamWriter(root, "s") as w:
        assert w.append(b"one more") == 50
    assert scanned == [0]  # the check resumed at the sealed size: not a byte of the segment read
    assert entries_of(root)[-1] == b"one more"


def test_without_a_matching_seal_the_whole_segment_is_checked(root, scanned):
    with StreamWriter(root, "s") as w:
        w.append(b"a" * 100)
    (root / "s" / SEALS_NAME).unlink()
    with StreamWriter(root, "s") as w:
        w.append(b"b")
    assert scanned == [(136)]  # the one frame there, all of it


def test_an_edit_after_the_seal_is_refused_as_before(root):
    with StreamWriter(root, "s") as w:
        w.append(b"a" * 50)
        w.append(b"b" * 50)
    with open(root / "s" / SEGMENT, "r+b") as f:  # same size, same inode: only the times change
        f.seek(40)
        f.write(b"\xff")
    with pytest.raises(DamagedTailError, match="CRC mismatch"):
        StreamWriter(root, "s").append(b"c")


@pytest.mark.parametrize("sync", ["async", "batch"])
def test_unsynced_writes_are_not_sealed_until_synced(root, sync):
    w = StreamWriter(root, "s", WriteOptions(sync=sync))
    w.append(b"a")  # a single append is synced in strict mode only
    w.close()
    assert read_seals(root / "s")[0] == []  # a seal never vouches for bytes a power cut may take
    w = StreamWriter(root, "s", WriteOptions(sync=sync))
    w.append(b"b")
    w.sync()
    w.close()
    assert [s.end_id for s in read_seals(root / "s")[0]] == [2]


def test_no_seal_when_another_writer_appended_after_our_last_write(root):
    first = StreamWriter(root, "s")
    first.append(b"a")
    with StreamWriter(root, "s") as second:
        second.append(b"b")
    seals_before = read_seals(root / "s")[0]
    first.close()  # its view (1 entry) is stale: it must not seal the segment as it sees it
    assert read_seals(root / "s")[0] == seals_before and seals_before[-1].end_id == 2


def test_a_held_lock_elsewhere_only_skips_the_seal(root):
    from ironwal_cli.engine.store.locks import locked_dir

    w = StreamWriter(root, "s")
    w.append(b"a")
    with locked_dir(root / "s", 0):  # someone holds the lock as we close: no wait, no error
        w.close()
    assert read_seals(root / "s")[0] == []


def test_a_shell_loop_of_appends_keeps_seals_small(root):
    for k in range(COMPACT_AT + 40):
        with StreamWriter(root, "s") as w:
            w.append(b"%d" % k)
    seals, bad = read_seals(root / "s")
    assert bad == 0 and len(seals) <= COMPACT_AT  # rewritten past COMPACT_AT, with the live records only
    assert seals[-1].end_id == COMPACT_AT + 40
    assert len(entries_of(root)) == COMPACT_AT + 40


def test_a_seal_that_cannot_be_written_does_not_fail_the_close(root, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    w = StreamWriter(root, "s")
    w.append(b"a")  # durable: the close must not turn into an error
    monkeypatch.setattr(frames_out, "add_seal", fail)
    w.close()
    assert entries_of(root) == [b"a"] and not os.path.exists(root / "s" / SEALS_NAME)
