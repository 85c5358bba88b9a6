"""segments.idx may leave out segment 0 (FORMAT.md, "segments.idx"), and only segment 0: verify
and recover accept [2, 4] beside files 0, 2, 4, and still report [0, 4] beside files 0, 2, 4."""

from __future__ import annotations

from pathlib import Path

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.recover import recover
from ironwal_cli.ops.verify import verify_root
from ironwal_cli.spec.codec import encode_index


def three_segments(root: Path, index: list[int]) -> Path:
    with StreamWriter(root, "s", WriteOptions(max_entries_per_segment=2)) as w:
        for i in range(6):
            w.append(b"%d" % i)
    stream = root / "s"
    (stream / "segments.idx").write_bytes(encode_index(index))
    return stream


def test_segment_0_unlisted_is_clean(tmp_path):
    three_segments(tmp_path, [2, 4])
    report = verify_root(tmp_path)
    assert report.ok, report.problems
    assert not recover(tmp_path, dry_run=True).repairs_needed


def test_another_segment_unlisted_is_reported(tmp_path):
    three_segments(tmp_path, [0, 4])
    report = verify_root(tmp_path)
    assert [p.kind for p in report.problems] == ["index_missing_id"]
    assert "00000000000000000002.wal" in report.problems[0].message
