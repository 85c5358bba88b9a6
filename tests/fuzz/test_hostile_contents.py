"""What readers say about hostile contents, one promise per test (the corpus test runs every reader
on every case; these pin the answers): ids past 2^64, files that are no WAL files, a garbage
checkpoint record, repeated problems summarised, LZ4 bombs refused before decoding."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hostile_corpus import CASES, GIB, SEGMENT0, bomb, lz4_frame, raw_frame
from hostile_run import assert_orderly, bounded

from ironwal_cli.engine.frames.compression import decompress
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.ops.inspect import inspect_file
from ironwal_cli.ops.verify import verify_root

CASE = {c.name: c for c in CASES}
TOP = 2**64 - 1


def _stream(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "wal"
    (root / "s").mkdir(parents=True)
    (root / "s" / name).write_bytes(data)
    return root


def test_ids_past_2_64_are_damage_never_printed(tmp_path):
    root = _stream(tmp_path, "18446744073709551613.wal", raw_frame(2**64 - 3, [b"a", b"b", b"c", b"d", b"e"]))
    found = [(p.path, p.kind) for p in verify_root(root).problems]
    assert ("s/18446744073709551613.wal", "id_overflow") in found
    tail = bounded("tail", "-r", root, "s", "-F", "jsonl")
    assert_orderly(tail, {3})
    assert tail.stdout == b"" and b"past the last possible id 18446744073709551615" in tail.stderr
    segment = root / "s" / "18446744073709551613.wal"
    for args in (["recover", "-n"], ["recover"], ["append", "s", "x"], ["inspect", segment], ["ls"],
                 ["get", "s", str(2**64 - 3)]):
        assert_orderly(bounded(*args, "-r", root), {0, 1, 2, 3})


def test_a_name_past_2_64_is_damage(tmp_path):
    root = _stream(tmp_path, "99999999999999999999.wal", raw_frame(0, [b"a"]))
    assert ("s/99999999999999999999.wal", "id_overflow") in [(p.path, p.kind) for p in verify_root(root).problems]
    for args in (["recover", "-n"], ["recover"], ["tail", "s"], ["append", "s", "x"]):
        assert_orderly(bounded(*args, "-r", root), {0, 1, 3})


def test_the_writer_refuses_to_pass_the_last_id(tmp_path):
    root = _stream(tmp_path, "18446744073709551614.wal", raw_frame(2**64 - 2, [b"x"]))
    two = bounded("append", "-r", root, "s", "a", "b")
    assert_orderly(two, {3})
    assert b"ids exhausted" in two.stderr
    one = bounded("append", "-r", root, "s", "last")
    assert (one.returncode, one.stdout) == (0, b"%d\n" % TOP), one.stderr
    more = bounded("append", "-r", root, "s", "none")
    assert_orderly(more, {3})
    with StreamWriter(root, "s") as w:
        with pytest.raises(Exception, match="ids exhausted"):
            w.append(b"y")
    assert verify_root(root).ok


def test_files_that_are_no_wal_files(tmp_path):
    junk = tmp_path / "junk.wal"
    junk.write_bytes(bytes(range(256)) * 4)
    run = bounded("inspect", junk)
    assert_orderly(run, {3})
    assert b"not an IronWal segment (bad magic at offset 0" in run.stderr
    root = _stream(tmp_path, SEGMENT0, Path("/etc/passwd").read_bytes() if Path("/etc/passwd").is_file()
                   else b"root:x:0:0:root:/root:/bin/sh\n" * 20)
    kinds = [p.kind for p in verify_root(root).problems if p.path == f"s/{SEGMENT0}"]
    assert kinds == ["not_a_segment"]
    assert "trailing_bytes" not in kinds


def test_a_garbage_checkpoint_record_shows_no_crc_ok(tmp_path):
    path = tmp_path / "checkpoints.log"
    CASE["checkpoints-garbage-record"].build(path)
    rows = inspect_file(path).rows
    assert [(r["problems"], r["crc_ok"]) for r in rows] == [(["checkpoint_bad_magic"], None)]
    run = bounded("inspect", path)
    assert_orderly(run, {0})
    assert b"yes" not in run.stdout


def test_repeated_problems_are_summarised(tmp_path):
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"a")
    CASE["index-garbage-in-bounds"].build(root / "s" / "segments.idx")  # 65 garbage ids
    report = verify_root(root)
    unknown = [p for p in report.problems if p.kind == "index_unknown_id"]
    assert len(unknown) == 21 and unknown[-1].omitted == 65 - 20  # 20 listed, then one line for the rest
    assert report.problem_count == len(report.problems) - 1 + unknown[-1].omitted
    run = bounded("verify", "-r", root, "--json")
    listed = [p for p in json.loads(run.stdout)["problems"] if p["kind"] == "index_unknown_id"]
    assert len(listed) == 21 and listed[-1]["omitted"] == 45 and "omitted" not in listed[0]
    plain = bounded("verify", "-r", root)
    assert plain.stdout.count(b": index_unknown_id: ") == 21
    assert plain.stdout.rstrip().endswith(b"%d problems found" % report.problem_count)


def test_an_8_mib_garbage_index_is_quick_and_short(tmp_path):
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"a")
    CASE["index-8mib-garbage"].build(root / "s" / "segments.idx")
    run = bounded("verify", "-r", root, timeout=60)  # was 20 s, 510 MB and 120 MB of output
    assert_orderly(run, {1})
    assert len(run.stdout) < 4096 and b"oversized_file" in run.stdout


@pytest.mark.parametrize("claimed", [GIB, 2**32 - 1])
def test_an_lz4_bomb_is_refused_before_it_is_decoded(claimed):
    payload = bomb()
    with pytest.raises(ValueError, match="more than the"):
        decompress(payload, claimed)


def test_an_lz4_bomb_that_lies_about_its_size_costs_one_byte_past_the_lie(tmp_path):
    root = _stream(tmp_path, SEGMENT0, lz4_frame(0, 1, bomb(), 1000))
    for args in (["verify"], ["tail", "s"], ["recover", "-n"], ["inspect", root / "s" / SEGMENT0]):
        run = bounded(*args, "-r", root, timeout=60)
        assert_orderly(run, {0, 1, 3})
        assert run.peak_rss < 200 << 20
    assert "1001+ bytes" in verify_root(root).problems[0].message


def test_bytes_after_the_lz4_end_mark_are_damage(tmp_path):
    root = tmp_path / "wal"
    (root / "s").mkdir(parents=True)
    CASE["lz4-bytes-after-end-mark"].build(root / "s" / SEGMENT0)
    problems = [p for p in verify_root(root).problems if p.path == f"s/{SEGMENT0}"]
    assert [(p.kind, "after the LZ4 end mark" in p.message) for p in problems] == [("bad_lz4", True)]
    assert_orderly(bounded("tail", "-r", root, "s"), {3})


def test_an_empty_head_state_is_damage_not_a_traceback(tmp_path):
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"a")
    (root / "s" / "head.state").write_bytes(b"")
    run = bounded("inspect", root / "s" / "head.state")
    assert_orderly(run, {0})
    assert b"head_state_invalid" in run.stdout
    shutil.rmtree(root)


def test_append_refuses_an_oversized_index_recover_quarantines_it(tmp_path):
    """An index far bigger than its segments can need is not decoded, and not dropped by the writer
    either (its bytes are not the writer's to lose): append says to recover, which keeps them."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"a")
    index = root / "s" / "segments.idx"
    os.truncate(index, 100 << 20)
    refused = bounded("append", "-r", root, "s", "b")
    assert_orderly(refused, {3})
    assert b"segments.idx: 104857600 bytes" in refused.stderr and b"run `ironwal recover` first" in refused.stderr
    fixed = bounded("recover", "-r", root)
    assert_orderly(fixed, {0})
    blobs = [p for p in (tmp_path / "wal.quarantine").rglob("*.bin")]
    assert [p.stat().st_size for p in blobs] == [100 << 20]
    assert bounded("append", "-r", root, "s", "b").stdout == b"1\n"
    assert verify_root(root).ok
