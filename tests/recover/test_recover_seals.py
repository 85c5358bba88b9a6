"""Sealed segments (``seals.idx``): the writer seals each segment it closes, and recover does not
re-read a closed segment whose stat still matches its seal, unless ``--full``.

That recover did not read a segment is proven by counting the files its planner maps
(``engine.repair.stream.map_file``, the one place recover reads a segment's bytes), and by bit
rot hidden behind a matching seal, which only ``--full`` finds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from recover_damage import read_all
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.repair import stream as repair_stream
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.seals import (
    SEALS_NAME,
    SEALS_TEMP,
    matching,
    read_seals,
    rewrite_seals,
    seal_of,
    unambiguous_stat,
)
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import DamagedTailError
from ironwal_cli.ops.prune import prune_stream
from ironwal_cli.ops.recover import recover
from ironwal_cli.ops.verify import damage_behind_seals, verify_root
from ironwal_cli.spec import declarations as decl

SEGMENTS = 5
PER_SEGMENT = 10
TORN = b"LAWL" + b"\x01" * 20  # a header cut short: the torn write of a crash
SAMPLES = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance"


def build(root: Path) -> dict[int, bytes]:
    """Stream s: SEGMENTS segments of PER_SEGMENT entries (two batches each), written by our writer."""
    written = {}
    with StreamWriter(root, "s", WriteOptions(max_entries_per_segment=PER_SEGMENT, sync="batch")) as w:
        for b in range(SEGMENTS * 2):
            batch = [b"entry %d" % (b * 5 + k) + bytes([k]) * 30 for k in range(5)]
            written.update(zip(w.append_batch(batch), batch, strict=True))
    return written


@pytest.fixture
def root(tmp_path) -> Path:
    """A fresh stream, written here (a copied root has new inodes: its seals would not match)."""
    root = tmp_path / "wal"
    build(root)
    return root


def segments(root: Path) -> list[Path]:
    layout = StreamListing.read(root / "s")
    return [layout.segment_path(s) for s in layout.segment_ids]


def tear(root: Path) -> None:
    with open(segments(root)[-1], "ab") as f:
        f.write(TORN)


def flip(path: Path, offset: int) -> None:
    """One byte changed in place: same inode, same size."""
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.fixture
def mapped(monkeypatch) -> list[str]:
    """Names of the segment files recover reads, in order."""
    seen: list[str] = []
    real = repair_stream.map_file

    def spy(path):
        seen.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(repair_stream, "map_file", spy)
    return seen


def outcome(root: Path, report) -> tuple:
    """What a repair did and left: its actions (paths, kinds, bytes removed) and every entry."""
    return [(a.path, a.action, a.removed_bytes) for a in report.actions], read_all(root, "s")


# ----- the writer -----------------------------------------------------------------------------


def test_the_writer_seals_each_segment_it_closes_and_the_active_one_at_the_end(root):
    segs = segments(root)
    assert len(segs) == SEGMENTS
    data = (root / "s" / SEALS_NAME).read_bytes()
    seals, bad = read_seals(root / "s")
    assert bad == 0 and len(seals) == SEGMENTS  # every closed one at its rotation, the active one at close
    parsed = decl.seals_idx.parse(data)  # the construct spec reads what the fast codec wrote
    assert [tuple(r[f] for f in seals[0]._fields) for r in parsed] == [tuple(s) for s in seals]
    assert all(r.crc_ok for r in parsed)
    for k, (seal, path) in enumerate(zip(seals, segs, strict=False)):
        assert (seal.start_id, seal.end_id) == (k * PER_SEGMENT, (k + 1) * PER_SEGMENT)
        assert seal == seal_of(seal.start_id, seal.end_id, path.stat())  # the segment as it is now
    assert sorted(matching(seals, StreamListing.read(root / "s").segment_files, root / "s")) == \
        [k * PER_SEGMENT for k in range(SEGMENTS)]


# ----- recover skips what is sealed -------------------------------------------------------------


def test_default_recover_reads_only_the_active_segment(root, tmp_path, mapped):
    full_root = tmp_path / "full"
    build(full_root)
    tear(root)
    tear(full_root)
    sizes = sum(p.stat().st_size for p in segments(root)[:-1])
    report = recover(root)
    assert mapped == [segments(root)[-1].name]  # the four sealed segments were never opened
    assert (report.sealed_segments, report.sealed_bytes) == (SEGMENTS - 1, sizes)
    mapped.clear()
    full = recover(full_root, full=True)
    assert len(mapped) == SEGMENTS and (full.sealed_segments, full.sealed_bytes) == (0, 0)
    assert outcome(root, report) == outcome(full_root, full)  # same repair, same entries
    assert report.actions and report.actions[0].what.endswith("(torn tail)")
    assert verify_root(root, jobs=1).ok


@pytest.mark.parametrize("change", ["appended", "same-size-edit"])
def test_a_sealed_segment_that_changed_is_read_and_repaired(root, mapped, change):
    seg = segments(root)[1]
    seal = {s.start_id: s for s in read_seals(root / "s")[0]}[PER_SEGMENT]
    if change == "appended":
        with open(seg, "ab") as f:
            f.write(b"\xde\xad" * 10)
    else:
        flip(seg, seg.stat().st_size - 1)  # the last payload byte: a bad CRC; mtime moves (see below)
        assert seg.stat().st_mtime_ns != seal.st_mtime_ns
    assert damage_behind_seals(root, verify_root(root, jobs=1)) == []  # plain recover reads it: no hint
    report = recover(root)
    assert seg.name in mapped
    assert [a.path for a in report.actions if a.removed_bytes] == [f"s/{seg.name}"]
    assert verify_root(root, jobs=1).ok


def reseal(root: Path, seg: Path) -> None:
    """Bit rot keeps size, inode and times: simulated by re-sealing the segment after an edit."""
    start = int(seg.stem)
    rewrite_seals(root / "s", [seal_of(s.start_id, s.end_id, seg.stat()) if s.start_id == start else s
                               for s in read_seals(root / "s")[0]])


def test_full_repairs_bit_rot_behind_a_matching_seal(root, mapped):
    seg = segments(root)[1]
    flip(seg, seg.stat().st_size - 1)
    reseal(root, seg)
    assert not recover(root, dry_run=True).repairs_needed  # the seal hides it, as documented
    assert seg.name not in mapped
    verified = verify_root(root, jobs=1)  # verify never trusts a seal
    assert [(p.path, p.kind) for p in verified.problems] == [(f"s/{seg.name}", "bad_crc")]
    assert damage_behind_seals(root, verified) == [f"s/{seg.name}"]  # what verify's hint names
    report = recover(root, full=True)
    assert seg.name in mapped and report.full
    assert [a.path for a in report.actions if a.removed_bytes] == [f"s/{seg.name}"]
    assert verify_root(root, jobs=1).ok


# ----- recover seals what it read ---------------------------------------------------------------


def test_recover_seals_a_crate_root_so_the_next_run_reads_only_the_active_segment(tmp_path, mapped):
    root = tmp_path / "wal"
    shutil.copytree(SAMPLES / "rotation-size" / "root", root)
    assert not (root / "rs" / SEALS_NAME).exists()  # the crate writes none
    layout = StreamListing.read(root / "rs")
    assert len(layout.segment_ids) > 3
    assert not recover(root, ["rs"], dry_run=True).repairs_needed
    assert not (root / "rs" / SEALS_NAME).exists()  # a dry run writes nothing
    mapped.clear()
    first = recover(root, ["rs"])
    assert len(mapped) == len(layout.segment_ids) and first.sealed_segments == 0
    seals, bad = read_seals(root / "rs")
    assert bad == 0 and sorted(s.start_id for s in seals) == layout.segment_ids
    mapped.clear()
    second = recover(root, ["rs"])
    assert mapped == []  # the active segment too: read whole, found intact, sealed
    assert second.sealed_segments == len(layout.segment_ids) and not second.repairs_needed


def test_the_segments_a_repair_writes_are_sealed(root, mapped):
    """Damage in the middle of a closed segment (stat changed): recover fills the lost ids in place; sealed."""
    seg = segments(root)[1]
    with open(seg, "r+b") as f:  # the first frame's payload, and a size change so the seal no longer holds
        f.seek(40)
        f.write(b"\xff" * 8)
    with open(seg, "ab") as f:
        f.write(b"\x00")
    recover(root)
    layout = StreamListing.read(root / "s")
    sealed = matching(read_seals(root / "s")[0], layout.segment_files, root / "s")
    assert sorted(sealed) == layout.segment_ids and len(layout.segment_ids) == SEGMENTS
    mapped.clear()
    assert not recover(root).repairs_needed and mapped == []


@pytest.mark.parametrize("harm", ["torn", "bad_crc", "garbage", "temp_left"])
def test_a_bad_seals_file_is_ignored_and_rewritten(root, mapped, harm):
    path = root / "s" / SEALS_NAME
    data = path.read_bytes()
    if harm == "torn":
        path.write_bytes(data + data[:17])
    elif harm == "bad_crc":
        path.write_bytes(data[:60] + bytes([data[60] ^ 1]) + data[61:])  # inside the second record
    elif harm == "garbage":
        path.write_bytes(os.urandom(100))
    else:
        (root / "s" / SEALS_TEMP).write_bytes(b"a rewrite cut short")
    expected = read_all(root, "s")[0]
    tear(root)
    report = recover(root)
    assert read_all(root, "s") == (expected, [])
    read_counts = {"torn": 1, "bad_crc": 2, "garbage": SEGMENTS, "temp_left": 1}[harm]
    assert len(mapped) == read_counts  # only what the damaged file no longer vouches for
    assert report.sealed_segments == SEGMENTS - read_counts
    seals, bad = read_seals(root / "s")
    assert bad == 0 and len(seals) == SEGMENTS and not (root / "s" / SEALS_TEMP).exists()
    assert verify_root(root, jobs=1).ok


def test_records_of_pruned_segments_are_dropped_by_the_next_recover(root, mapped):
    result = prune_stream(root, "s", 2 * PER_SEGMENT)
    assert len(result.deleted) == 2
    assert len(read_seals(root / "s")[0]) == SEGMENTS  # stale records: harmless, names are gone
    (root / "s" / SEALS_NAME).write_bytes((root / "s" / SEALS_NAME).read_bytes() + b"torn")  # so it is rewritten
    recover(root)
    assert mapped == []
    assert sorted(s.start_id for s in read_seals(root / "s")[0]) == [2 * PER_SEGMENT, 3 * PER_SEGMENT,
                                                                      4 * PER_SEGMENT]


# ----- the CLI ----------------------------------------------------------------------------------


def test_cli_reports_the_sealed_segments_it_skipped(root):
    runner = CliRunner()
    tear(root)
    sizes = sum(p.stat().st_size for p in segments(root)[:-1])
    dry = runner.invoke(app, ["recover", "-r", str(root), "-n", "--json"])
    assert dry.exit_code == 1, dry.output
    got = json.loads(dry.stdout)
    assert got["skipped_sealed"] == {"segments": SEGMENTS - 1, "bytes": sizes} and got["full"] is False
    full = json.loads(runner.invoke(app, ["recover", "-r", str(root), "-n", "--json", "--full"]).stdout)
    assert full["skipped_sealed"] == {"segments": 0, "bytes": 0} and full["full"] is True
    assert full["actions"] == got["actions"]
    text = runner.invoke(app, ["recover", "-r", str(root)])
    assert text.exit_code == 0, text.output
    assert (f"{SEGMENTS - 1} sealed segments ({sizes / 1024:.0f} KiB) unchanged since they were sealed: "
            "not re-read (--full reads them)") in text.stdout
    assert "--full" in runner.invoke(app, ["recover", "--help"]).stdout


def test_verify_points_at_recover_full_for_damage_in_a_closed_segment(root):
    runner = CliRunner()
    tear(root)
    active = runner.invoke(app, ["verify", "-r", str(root)])
    assert active.exit_code == 1 and "recover --full" not in active.stderr  # plain recover mends a tail
    recover(root)
    seg = segments(root)[1]
    flip(seg, seg.stat().st_size - 1)  # an edit: the seal no longer matches, plain recover reads it
    edited = runner.invoke(app, ["verify", "-r", str(root)])
    assert edited.exit_code == 1 and "bad_crc" in edited.stdout and "recover --full" not in edited.stderr
    reseal(root, seg)  # bit rot keeps size and times: the seal still matches
    result = runner.invoke(app, ["verify", "-r", str(root)])
    assert result.exit_code == 1 and "bad_crc" in result.stdout
    assert "repair it with `ironwal recover --full`" in result.stderr


def test_a_seals_file_that_cannot_be_written_is_a_note_not_a_failed_repair(root):
    (root / "s" / SEALS_NAME).unlink()
    (root / "s" / SEALS_NAME).mkdir()  # neither readable nor replaceable as a file
    tear(root)
    report = recover(root)
    assert [a.action for a in report.actions] == ["rewrite"] and report.sealed_segments == 0
    assert [(p, m.split(" (")[0]) for p, m in report.notes if not m.startswith("torn tail")] == [
        ("s", "seals.idx not updated")]
    assert verify_root(root, jobs=1).ok  # verify ignores our cache (and its temp file)


# ----- timestamps: a seal taken right after a write still sees the next edit --------------------


def test_an_edit_in_the_same_timestamp_tick_as_the_seal_is_seen(tmp_path):
    """The writer seals the active segment as it closes; an edit in place straight after (well
    inside one timestamp tick) must still change the stat, for recover and for the next writer."""
    for k in range(25):  # each try lands within a few microseconds of the seal
        root = tmp_path / f"r{k}"
        with StreamWriter(root, "s") as w:
            w.append(b"x" * 40)
            w.append(b"y" * 40)
        seg = segments(root)[-1]
        sealed = read_seals(root / "s")[0][-1]
        flip(seg, 40)  # inside the first payload: same inode, same size
        assert seal_of(sealed.start_id, sealed.end_id, seg.stat()) != sealed
        with pytest.raises(DamagedTailError):
            StreamWriter(root, "s").append(b"z")
        assert recover(root).repairs_needed


def test_a_recent_mtime_is_moved_back_so_that_any_later_write_moves_it(tmp_path):
    """The mechanism behind the test above, which kernels with fine-grained timestamps (Linux 6.13+
    on ext4, xfs, btrfs, tmpfs) pass anyway: a write within the tick of the last one keeps the
    coarse timestamp elsewhere, so the sealed mtime must lie before any timestamp a write can get."""
    path = tmp_path / "f"
    path.write_bytes(b"data")
    before = path.stat()
    fd = os.open(path, os.O_RDONLY)
    try:
        st = unambiguous_stat(fd)
    finally:
        os.close(fd)
    assert st is not None and st.st_mtime_ns < before.st_mtime_ns and st.st_size == before.st_size
    assert st.st_mtime_ns == path.stat().st_mtime_ns  # what the seal records is what the file holds
    old = before.st_mtime_ns - 10 * 10**9  # an mtime no write can reach again: left as it is
    os.utime(path, ns=(before.st_atime_ns, old))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert unambiguous_stat(fd).st_mtime_ns == old
    finally:
        os.close(fd)
