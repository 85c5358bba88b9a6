"""Every plain conformance root reads back exactly its ``expected.jsonl``, through the library and the CLI.

The roots were written by the reference crate; ``expected.jsonl`` is what the crate itself
reads from them. Where the crate's read fails (torn-tail: a frame its own repair padded with
zeros; key-collision: a gap it wrote itself), we deliver exactly the intact entries before
the damage and then fail, naming the segment file and the byte offset of the damaged frame.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonl_output import decode_jsonl
from plain_cases import CONFORMANCE, PLAIN_CASES, expected_by_stream, first_read_id, streams_of
from typer.testing import CliRunner
from wal_checks import walk_headers

from ironwal_cli.cli.main import app
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.errors import EXIT_DAMAGED, FormatError


def test_the_plain_cases_are_all_there():
    """Guards the parametrisation below: an emptied sample directory must not pass silently."""
    assert {"batch", "batch-split", "empty-stream", "key-collision", "lz4", "multi-stream", "oversize-entry",
            "reopen", "rotation-entries", "rotation-size", "single-append", "torn-tail", "truncate"} <= set(PLAIN_CASES)


def damaged_frame(stream_dir: Path, next_id: int) -> tuple[Path, int]:
    """(segment, offset) of the frame where reading ``next_id`` must fail: a bad CRC or a gap.

    Found by walking headers alone (not through our scanner or reader), in the segment that
    holds ``next_id``.
    """
    layout = StreamListing.read(stream_dir)
    segment = layout.segment_path(layout.segment_for(next_id))
    for offset, header, crc_ok in walk_headers(segment.read_bytes()):
        if header.start_id <= next_id < header.end_id and not crc_ok:
            return segment, offset
        if header.start_id > next_id:
            return segment, offset
    raise AssertionError(f"{segment}: no damaged frame found for id {next_id}")


def check_error_names_the_damage(message: str, expected_error: dict, segment: Path, offset: int) -> None:
    assert f"{segment} at offset {offset}:" in message
    ref = expected_error["error"]
    if "Checksum" in ref:  # the reference prints "expected <stored>, got <computed>": we name both values
        stored, computed = ref.split("expected ")[1].split(", got ")
        assert stored in message and computed.split()[0] in message
    else:
        assert "Gap" in ref and f"expected {expected_error['next_id']}" in message


@pytest.mark.parametrize("case", PLAIN_CASES)
def test_library_reads_expected(case):
    root = CONFORMANCE / case / "root"
    expected = expected_by_stream(case)
    streams = streams_of(root)
    assert set(expected) <= set(streams)
    assert list(expected) == [s for s in streams if s in expected]  # the dump's order: bytes of the name
    for name in streams:
        want = expected.get(name, {"entries": [], "error": None})
        reader = StreamReader(root, name, name_is_dir=True, on_warning=lambda m: None)
        got: list[tuple[int, bytes]] = []
        try:
            got.extend(reader.entries(first_read_id(root / name)))
        except FormatError as err:
            assert want["error"] is not None, f"{case}/{name}: unexpected {err}"
            segment, offset = damaged_frame(root / name, want["error"]["next_id"])
            assert (Path(err.path), err.offset) == (segment, offset)
            check_error_names_the_damage(str(err), want["error"], segment, offset)
        else:
            assert want["error"] is None, f"{case}/{name}: the reference fails here, we did not"
        assert got == want["entries"], f"{case}/{name}"


def test_truncated_stream_read_from_zero_starts_at_its_first_id():
    """``--from 0`` on a pruned stream is not an error: reading starts at the first id still there."""
    root = CONFORMANCE / "truncate" / "root"
    first = first_read_id(root / "t")
    assert first > 0
    ids = [i for i, _ in StreamReader(root, "t", name_is_dir=True).entries(0)]
    assert ids == [i for i, _ in expected_by_stream("truncate")["t"]["entries"]] and ids[0] == first


def run_tail(root: Path, name: str, start: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ironwal_cli", "tail", name, "-r", str(root),
                             "--from", str(start), "--format", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("case", PLAIN_CASES)
def test_cli_tail_jsonl_reads_expected(case):
    root = (CONFORMANCE / case / "root").resolve()
    expected = expected_by_stream(case)
    streams = streams_of(root)
    procs = {name: run_tail(root, name, first_read_id(root / name)) for name in streams}  # run side by side
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        want = expected.get(name, {"entries": [], "error": None})
        assert decode_jsonl(out) == want["entries"], f"{case}/{name}"
        stderr = err.decode()
        assert "Traceback" not in stderr
        if want["error"] is None:
            assert (proc.returncode, stderr) == (0, ""), f"{case}/{name}"
            continue
        assert proc.returncode == EXIT_DAMAGED
        lines = stderr.splitlines()
        errors = [line for line in lines if line.startswith("ironwal: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0]
        assert all(line.startswith("ironwal: warning: ") for line in lines[:-1])
        segment, offset = damaged_frame(root / name, want["error"]["next_id"])
        check_error_names_the_damage(errors[0], want["error"], segment, offset)


@pytest.mark.parametrize("case", PLAIN_CASES)
def test_ls_json_describes_every_stream(case):
    """``ironwal ls --json``: one row per subdirectory, in byte order, with first/next ids from the data."""
    root = CONFORMANCE / case / "root"
    result = CliRunner().invoke(app, ["ls", "-r", str(root), "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["checkpoints"] is None  # a plain root: the same object shape as a sharded one
    rows = listing["streams"]
    assert [r["name"] for r in rows] == streams_of(root)
    expected = expected_by_stream(case)
    for row in rows:
        segs = sorted((root / row["name"]).glob("*.wal"))
        assert row["segments"] == len(segs)
        assert row["bytes"] == sum(p.stat().st_size for p in segs)
        want = expected.get(row["name"], {"entries": [], "error": None})
        ids = [i for i, _ in want["entries"]]
        assert row["first_id"] == (ids[0] if ids else 0)
        if want["error"] is None:
            assert row["next_id"] == (ids[-1] + 1 if ids else 0)
