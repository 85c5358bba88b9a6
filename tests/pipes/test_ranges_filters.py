"""``tail --from/--to/-n/--count`` ranges and ``--grep``/``-v`` filters, through the real CLI.

The rules (ironwal-tail(1), RANGES): ``--from`` and ``--to`` are inclusive; without ``--from``,
``-n N`` (default 10) is the last N of the range; with ``--from`` the whole range, or its last N
when ``-n`` is given; ``--count`` stops after N printed entries (after the filter). A filter
never hides damage: every frame read still has its CRC checked.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipe_support import cli, read_line_within
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.errors import EXIT_DAMAGED, EXIT_USAGE
from ironwal_cli.ops.append import append_values

N = 30


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Ids 0..29 in batches of 7 (so ranges cut frames), entries e0..e29, every third holding 'x'."""
    root = tmp_path_factory.mktemp("ranges") / "wal"
    values = [(b"x%d" if i % 3 == 0 else b"e%d") % i for i in range(N)]
    for start in range(0, N, 7):
        append_values(root, "s", values[start:start + 7])
    return root


def ids(root, *args) -> list[int]:
    result = CliRunner().invoke(app, ["tail", "s", "-r", str(root), "-F", "jsonl", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def expected(from_id=None, to_id=None, last=None, count=None) -> list[int]:
    """The documented rules, written out plainly."""
    stop = N if to_id is None else min(to_id + 1, N)
    start = 0 if from_id is None else from_id
    chosen = list(range(start, stop))
    if from_id is None or last is not None:
        chosen = chosen[max(len(chosen) - (10 if last is None else last), 0):]
    return chosen if count is None else chosen[:count]


@settings(max_examples=60, deadline=None)
@given(from_id=st.none() | st.integers(0, N + 3), to_id=st.none() | st.integers(0, N + 3),
       last=st.none() | st.integers(0, N + 3), count=st.none() | st.integers(0, N + 3))
def test_every_combination_follows_the_documented_rules(root, from_id, to_id, last, count):
    args = []
    for flag, value in (("--from", from_id), ("--to", to_id), ("-n", last), ("--count", count)):
        if value is not None:
            args += [flag, str(value)]
    if from_id is not None and to_id is not None and from_id > to_id:
        result = CliRunner().invoke(app, ["tail", "s", "-r", str(root), *args])
        assert result.exit_code == EXIT_USAGE and "is after --to" in result.output
        return
    assert ids(root, *args) == expected(from_id, to_id, last, count)


def test_a_few_ranges_written_out():
    """The rules themselves, on fixed cases (the property test above compares against them)."""
    assert expected() == list(range(20, 30))
    assert expected(from_id=5, to_id=8) == [5, 6, 7, 8]
    assert expected(to_id=12, last=3) == [10, 11, 12]
    assert expected(from_id=25) == [25, 26, 27, 28, 29]
    assert expected(from_id=3, last=2) == [28, 29]


def test_from_end_prints_nothing_without_follow(root):
    assert ids(root, "--from", "end") == []
    assert ids(root, "--from", "end", "-n", "3") == []


@pytest.mark.parametrize("value", ["-3", "x", "1.5", ""])
def test_bad_from_is_a_usage_error(root, value):
    result = CliRunner().invoke(app, ["tail", "s", "-r", str(root), "--from", value])
    assert result.exit_code == EXIT_USAGE and "--from" in result.output


def test_follow_from_end_prints_only_new_entries_and_stops_at_to(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "s", [b"old0", b"old1"])
    proc = subprocess.Popen(cli("tail", "-r", str(root), "s", "--from", "end", "--to", "3", "-f"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # let it find the end before anything new is written
        append_values(root, "s", [b"new2"])
        assert read_line_within(proc, 30) == b"new2\n"
        append_values(root, "s", [b"new3", b"new4"])
        assert read_line_within(proc, 30) == b"new3\n"
        assert proc.wait(timeout=30) == 0  # --to 3 reached: following ends by itself
        assert proc.stdout.read() == b""
    finally:
        proc.kill()
        proc.wait()


def test_grep_keeps_true_ids_in_every_format(root):
    assert ids(root, "--from", "0", "--grep", "^x") == list(range(0, N, 3))
    assert ids(root, "--from", "0", "--grep", "^x", "-v") == [i for i in range(N) if i % 3]
    assert ids(root, "--from", "0", "--grep", "^x", "--count", "2") == [0, 3]
    assert ids(root, "--to", "9", "--grep", "x") == [0, 3, 6, 9]  # the last 10 up to 9, filtered
    line = CliRunner().invoke(app, ["tail", "s", "-r", str(root), "--from", "20", "--grep", r"x\d"])
    assert line.stdout_bytes == b"x21\nx24\nx27\n"


def test_grep_is_a_bytes_regex_over_binary_entries(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "s", [b"\0\xff\n", b"plain", b"", "ü".encode()])
    run = CliRunner()
    out = run.invoke(app, ["tail", "s", "-r", str(root), "--from", "0", "-F", "hex", "--grep", r"\n"])
    assert out.stdout_bytes == b"00ff0a\n"
    out = run.invoke(app, ["tail", "s", "-r", str(root), "--from", "0", "-F", "hex", "--grep", "^$"])
    assert out.stdout_bytes == b"\n"  # the empty entry
    out = run.invoke(app, ["tail", "s", "-r", str(root), "--from", "0", "-F", "hex", "--grep", "ü"])
    assert out.stdout_bytes == b"c3bc\n"


def test_bad_regex_and_lone_invert_are_usage_errors(root):
    for args in (["--grep", "("], ["-v"]):
        result = CliRunner().invoke(app, ["tail", "s", "-r", str(root), *args])
        assert result.exit_code == EXIT_USAGE and result.output.count("\n") == 1, result.output


def test_a_filtered_read_still_checks_every_crc(tmp_path):
    """Damage in a frame none of whose entries match stops the read (exit 3), as without --grep."""
    root = tmp_path / "wal"
    append_values(root, "s", [b"match-0", b"other-1"])
    append_values(root, "s", [b"other-2", b"other-3"])
    append_values(root, "s", [b"match-4"])
    segment = next((root / "s").glob("*.wal"))
    data = bytearray(segment.read_bytes())
    at = data.index(b"other-3")
    data[at] ^= 0x01  # a payload byte of the second frame: its CRC no longer matches
    segment.write_bytes(bytes(data))
    result = subprocess.run(cli("tail", "-r", str(root), "s", "--from", "0", "--grep", "match"),
                            capture_output=True, timeout=60)
    assert result.returncode == EXIT_DAMAGED
    assert result.stdout == b"match-0\n"  # what came before the damage, and nothing after it
    assert result.stderr.decode().startswith(f"ironwal: error: {segment}")
