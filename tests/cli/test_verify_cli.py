"""``ironwal verify`` through the real command line: output, --json shape, exit codes, read-only, no lock."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from verify_support import CONFORMANCE, flip_bit, frames, segments, tree_digest, write_stream

from ironwal_cli.cli.main import app
from ironwal_cli.engine.store.locks import locked_dir

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["verify", *args])


@pytest.fixture
def damaged(root):
    s = write_stream(root, "s", [[b"one", b"two"], [b"three"]])
    write_stream(root, "t", [[b"x"] * 3])
    bad = frames(segments(s)[0])[1]
    flip_bit(segments(s)[0], bad.offset + 40)
    return root, bad.offset


def test_clean_root_exits_0_with_totals(root):
    write_stream(root, "s", [[b"a", b"b"]])
    result = run("-r", str(root))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["stream", "segments", "frames", "entries", "bytes", "lz4 ratio"]
    assert lines[1].split("\t")[:4] == ["s", "1", "1", "2"]
    assert lines[-1] == "ok"


def test_problems_exit_1_one_line_each(damaged):
    root, offset = damaged
    result = run("-r", str(root))
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(f"s/00000000000000000000.wal@{offset}: bad_crc: CRC mismatch")
    assert result.output.splitlines()[-1] == "1 problem found"


def test_json_has_exactly_the_documented_shape(damaged):
    root, offset = damaged
    result = run("-r", str(root), "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert set(data) == {"ok", "problems", "streams", "replay"}
    assert data["ok"] is False
    assert data["problems"] == [{"path": "s/00000000000000000000.wal", "offset": offset, "kind": "bad_crc",
                                 "message": data["problems"][0]["message"]}]
    assert set(data["streams"]) == {"s", "t"}
    assert data["streams"]["t"] == {"segments": 1, "frames": 1, "entries": 3, "bytes": 47, "lz4_frames": 0,
                                    "lz4_ratio": None}


def test_whole_file_problem_has_null_offset(root):
    s = write_stream(root, "s", [[b"a"]])
    (s / "segments.idx").unlink()
    data = json.loads(run("-r", str(root), "--json").output)
    assert data["problems"][0]["offset"] is None and data["problems"][0]["kind"] == "index_missing"


def test_quiet_prints_nothing(damaged):
    root, _ = damaged
    result = run("-r", str(root), "-q")
    assert (result.exit_code, result.output) == (1, "")


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--bogus"]])
def test_usage_errors_exit_2(root, args):
    write_stream(root, "s", [[b"a"]])
    assert run("-r", str(root), *args).exit_code == 2


def test_missing_stream_or_root_is_not_found_6_as_for_every_command(root, tmp_path):
    write_stream(root, "s", [[b"a"]])
    assert run("-r", str(root), "nope").exit_code == 6
    assert run("-r", str(tmp_path / "absent")).exit_code == 6


def test_targets_limit_the_check(damaged):
    root, _ = damaged
    assert run("-r", str(root), "t").exit_code == 0
    assert run("-r", str(root), "s").exit_code == 1
    data = json.loads(run("-r", str(root), "--json", str(root / "t")).output)
    assert data["ok"] and set(data["streams"]) == {"t"}


def test_subprocess_conformance_read_only_and_lock_free(tmp_path):
    """The real CLI on the crate's damaged roots, while another process holds the writer lock of a stream."""
    root = CONFORMANCE / "key-collision" / "root"
    before = tree_digest(root)
    with locked_dir(root / "user_123"):
        proc = subprocess.run([sys.executable, "-m", "ironwal_cli", "verify", "-r", str(root), "--json"],
                              capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    assert [(p["offset"], p["kind"]) for p in problems] == [(104, "ids_backwards"), (208, "ids_backwards"),
                                                            (270, "ids_skip")]
    seg = CONFORMANCE / "torn-tail" / "root" / "tp" / "00000000000000000000.wal"
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", "verify", str(seg)], capture_output=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("tp/00000000000000000000.wal@224: bad_crc")
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", "verify", "-r",
                           str(CONFORMANCE / "sharded-basic" / "root")], capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().endswith("ok\n")
    assert tree_digest(root) == before


def test_rich_summary_names_each_problem_and_the_totals(damaged, capsys):
    """What a terminal shows (rich), rendered directly: CliRunner's stdout is never a terminal."""
    from ironwal_cli.cli.verify import _print_rich
    from ironwal_cli.ops.verify import verify_root

    root, offset = damaged
    _print_rich(verify_root(root))
    out = capsys.readouterr().out
    assert f"bad_crc s/00000000000000000000.wal@{offset}: CRC mismatch" in out
    assert "1 problem found" in out and "entries" in out


def test_public_api_exports_verify_and_inspect(damaged):
    import ironwal_cli

    root, offset = damaged
    report = ironwal_cli.verify_root(root)
    assert not report.ok and report.problems[0].offset == offset
    rows = ironwal_cli.inspect_file(root / "s" / "00000000000000000000.wal").rows
    assert [r["crc_ok"] for r in rows] == [True, False]
