"""verify on damaged streams: segment files, segments.idx, head.state and strays."""

from __future__ import annotations

import pytest
from verify_support import found, segments, stray, verify, write_stream

from ironwal_cli.spec.codec import encode_head_state, encode_index

IDX = "s/segments.idx"


@pytest.fixture
def stream(root):
    """Five segments of 4 entries each (ids 0..19), with segments.idx and head.state."""
    batches = [[f"entry-{i:03d}".encode() * 5 for i in range(k, k + 4)] for k in range(0, 20, 4)]
    s = write_stream(root, "s", batches, max_entries_per_segment=4)
    assert [p.name for p in segments(s)] == [f"{i:020d}.wal" for i in (0, 4, 8, 12, 16)]
    assert verify(root).ok
    return s


def test_segment_deleted_from_the_middle(root, stream):
    segments(stream)[2].unlink()
    assert found(verify(root)) == [("s/00000000000000000012.wal", None, "replay_stops_silently"),
                                   ("s/00000000000000000012.wal", None, "segment_gap"),
                                   (IDX, 16, "index_unknown_id")]


def test_index_with_odd_length(root, stream):
    with open(stream / "segments.idx", "ab") as f:
        f.write(b"\x01\x02\x03")
    assert found(verify(root)) == [(IDX, None, "index_bad_length")]


def test_index_missing_an_id(root, stream):
    (stream / "segments.idx").write_bytes(encode_index([0, 4, 12, 16]))
    report = verify(root)
    assert found(report) == [(IDX, None, "index_missing_id")]
    assert "00000000000000000008.wal" in report.problems[0].message


def test_index_out_of_order(root, stream):
    (stream / "segments.idx").write_bytes(encode_index([0, 8, 4, 12, 16]))
    assert found(verify(root)) == [(IDX, 16, "index_out_of_order")]


def test_index_missing(root, stream):
    (stream / "segments.idx").unlink()
    assert found(verify(root)) == [(IDX, None, "index_missing")]


def test_index_may_repeat_an_id_and_be_empty_for_segment_0(root):
    """What the crate itself writes: a duplicate id (oversize entry), an empty index (hand-made dir)."""
    s = write_stream(root, "s", [[b"a"], [b"b"]])
    (s / "segments.idx").write_bytes(b"")
    assert verify(root).ok
    (s / "segments.idx").write_bytes(encode_index([0, 0]))
    assert verify(root).ok


def test_head_state_naming_a_missing_segment(root, stream):
    (stream / "head.state").write_bytes(encode_head_state("00000000000000000020.wal"))
    assert found(verify(root)) == [("s/head.state", None, "head_state_missing_segment")]


def test_head_state_naming_an_older_segment(root, stream):
    (stream / "head.state").write_bytes(encode_head_state("00000000000000000008.wal"))
    assert found(verify(root)) == [("s/head.state", None, "head_state_not_last")]


@pytest.mark.parametrize("data", [b"\x02\x00", b"\x01\x05abc", b"\x01"], ids=["version", "short-name", "short"])
def test_head_state_that_does_not_parse(root, stream, data):
    (stream / "head.state").write_bytes(data)
    assert found(verify(root)) == [("s/head.state", None, "head_state_invalid")]


def test_stray_temp_files_and_files_that_do_not_belong(root, stream):
    stray(stream / "head.state.tmp", b"\x01")
    stray(stream / "segments.idx.tmp")
    (stream / "head.state.tmp.tmp").write_bytes(b"")  # just written: maybe a replace in progress
    (stream / "notes.txt").write_text("hi")
    (stream / "0001.wal").write_bytes(b"")
    (stream / "sub").mkdir()
    (root / "README").write_text("x")
    stray(root / "HEAD.tmp")
    (root / "link").symlink_to(stream)  # a stream directory is never a symbolic link
    assert sorted(found(verify(root))) == sorted([
        ("link", None, "unexpected_file"),
        ("s/head.state.tmp", None, "stray_temp_file"), ("s/segments.idx.tmp", None, "stray_temp_file"),
        ("s/notes.txt", None, "unexpected_file"), ("s/0001.wal", None, "unexpected_file"),
        ("s/sub", None, "unexpected_file"), ("README", None, "unexpected_file"),
        ("HEAD.tmp", None, "stray_temp_file")])


def test_overlapping_segments(root, stream):
    """A segment starting below the end of the one before (made by renaming 4 -> 3)."""
    (stream / "00000000000000000004.wal").rename(stream / "00000000000000000003.wal")
    (stream / "segments.idx").write_bytes(encode_index([0, 3, 8, 12, 16]))
    assert found(verify(root)) == [("s/00000000000000000003.wal", None, "segment_overlap"),
                                   ("s/00000000000000000003.wal", 0, "segment_start_mismatch")]


def test_targets_stream_name_directory_and_segment(root, stream):
    other = write_stream(root, "other", [[b"x"]])
    (other / "segments.idx").unlink()
    seg = segments(stream)[1]
    with open(seg, "ab") as f:
        f.write(b"zz")
    assert found(verify(root, "s")) == [("s/00000000000000000004.wal", seg.stat().st_size - 2, "trailing_bytes")]
    assert found(verify(root, stream)) == found(verify(root, "s"))
    assert found(verify(root, seg)) == found(verify(root, "s"))
    assert found(verify(root, "other")) == [("other/segments.idx", None, "index_missing")]
    report = verify(root, seg, "other")
    assert set(report.streams) == {"s", "other"} and report.streams["s"].segments == 1


def test_unknown_target_and_missing_root_are_not_found_a_bad_file_a_usage_error(root, stream, tmp_path):
    from ironwal_cli.errors import NotFoundError, UsageError
    from ironwal_cli.ops.verify import verify_root

    with pytest.raises(NotFoundError):  # exit 6, as for every command (the one exit table)
        verify_root(root, ["nope"])
    with pytest.raises(NotFoundError):
        verify_root(tmp_path / "absent")
    with pytest.raises(UsageError):
        verify_root(root, [stream / "segments.idx"])  # a file, but not a segment
