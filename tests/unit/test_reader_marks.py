"""A reader remembers where frames start (engine/reader/marks.py): every answer it gives from its
marks is the answer a fresh reader gives by walking from the segment's start."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.frames.scan import headers, map_file, seek
from ironwal_cli.engine.reader.marks import EVERY
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.spec.codec import FRAME_RAW, encode_frame, encode_index, encode_raw_batch

SEGMENT = "00000000000000000000.wal"


def frames_bytes(first_ids_and_counts: list[tuple[int, int]]) -> bytes:
    out = []
    for first, count in first_ids_and_counts:
        raw = encode_raw_batch([f"{first + k}".encode() for k in range(count)])
        out.append(encode_frame(first, count, FRAME_RAW, raw, len(raw)))
    return b"".join(out)


def contiguous(counts: list[int], start: int = 0) -> list[tuple[int, int]]:
    out = []
    for c in counts:
        out.append((start, c))
        start += c
    return out


class ReferenceReader(StreamReader):
    """The reader without marks: every lookup walks from the segment's start."""

    def _locate(self, start, path, data, from_id):
        return seek(data, from_id)

    def next_id(self) -> int:
        if not self._segments:
            return 0
        expected = self._segments[-1]  # a walk from the start skips frames below it, jumps gaps
        for _offset, first, count, _size in headers(map_file(self._seg_path(expected))):
            expected = max(expected, first + count)
        return expected


def answer(reader: StreamReader, entry_id: int) -> object:
    try:
        return reader.get(entry_id)
    except Exception as err:  # the same error, word for word, is the same answer
        return (type(err).__name__, str(err))


def make_stream(top: Path) -> Path:
    stream = top / "s"
    stream.mkdir(parents=True)
    (stream / "segments.idx").write_bytes(encode_index([0]))
    return stream


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(1, 3), min_size=1, max_size=3 * EVERY), data=st.data())
def test_marked_lookups_answer_as_a_fresh_walk(counts, data):
    """Random lookups through one reader, with the segment growing, going out of sequence (the
    crate's key-collision frames) or cut short in between: each answer equals the one of a
    reader that walks from the segment's start every time."""
    top = Path(tempfile.mkdtemp(prefix="ironwal-marks-"))
    try:
        stream = make_stream(top)
        frames = contiguous(counts)
        seg = stream / SEGMENT
        seg.write_bytes(frames_bytes(frames))
        reused = StreamReader(top, "s")
        end = frames[-1][0] + frames[-1][1]
        for _ in range(data.draw(st.integers(1, 4))):
            change = data.draw(st.sampled_from(["none", "grow", "backwards", "cut"]))
            if change == "grow":
                more = contiguous(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=EVERY)), end)
                with open(seg, "ab") as f:
                    f.write(frames_bytes(more))
                end = more[-1][0] + more[-1][1]
            elif change == "backwards":  # a frame whose ids go back over ids already written
                back = data.draw(st.integers(0, max(end - 1, 0)))
                with open(seg, "ab") as f:
                    f.write(frames_bytes([(back, 1)]))
            elif change == "cut":
                size = seg.stat().st_size
                with open(seg, "r+b") as f:
                    f.truncate(data.draw(st.integers(0, size)))
            assert reused.next_id() == ReferenceReader(top, "s").next_id()
            for target in data.draw(st.lists(st.integers(0, end + 2), min_size=1, max_size=6)):
                assert answer(reused, target) == answer(ReferenceReader(top, "s"), target)
    finally:
        shutil.rmtree(top)


def test_a_replaced_segment_forgets_its_marks(tmp_path):
    stream = make_stream(tmp_path)
    seg = stream / SEGMENT
    seg.write_bytes(frames_bytes(contiguous([1] * (3 * EVERY))))
    reader = StreamReader(tmp_path, "s")
    assert reader.get(3 * EVERY - 1) == str(3 * EVERY - 1).encode()  # marks up to the end
    replacement = tmp_path / "new.wal"  # recover replaces a file: new inode, other frames
    replacement.write_bytes(frames_bytes(contiguous([2] * EVERY)))
    replacement.replace(seg)
    assert reader.next_id() == 2 * EVERY
    assert reader.get(2 * EVERY - 1) == str(2 * EVERY - 1).encode()
    assert answer(reader, 3 * EVERY - 1) == answer(ReferenceReader(tmp_path, "s"), 3 * EVERY - 1)
