"""``append --input-format`` reads back what ``tail -F`` prints, through real processes and pipes.

jsonl, hex and base64 carry any entries (empty, NUL, newlines, invalid UTF-8) byte for byte;
line and null carry entries without their separator, and ``tail`` warns about one that holds
it. Bad input is one error line naming the input line, and nothing of its batch is written.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pipe_support import cli, entries, pipe, read_line_within, run

from ironwal_cli.errors import EXIT_REFUSED, EXIT_USAGE
from ironwal_cli.ops.append import append_values

NASTY = [b"", b"\0", b"\n", b"\r\n", b"\xff\xfe", b"a\0b\nc", "ü".encode(), b'{"b64": 1}', b"\x00" * 3]
ANY_ENTRY = st.one_of(st.sampled_from(NASTY), st.binary(max_size=40))
# Two real processes per example: a few drawn ones plus every nasty entry at once (@example); the
# decoders themselves take hundreds of cases in-process (test_input_decoding.py).
SETTINGS = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _stream() -> str:
    return f"s{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("fmt", ["jsonl", "hex", "base64"])
@SETTINGS
@given(values=st.lists(ANY_ENTRY, min_size=1, max_size=12))
@example(values=NASTY)
def test_encoded_formats_round_trip_any_entries(tmp_path, fmt, values):
    root = tmp_path / "wal"
    src, dst = _stream(), _stream()
    append_values(root, src, values)
    tail, append = pipe(["tail", "-r", str(root), src, "--from", "0", "-F", fmt],
                        ["append", "-r", str(root), dst, "--input-format", fmt, "--batch", "3"])
    assert (tail.returncode, tail.stderr) == (0, b"")
    assert append.returncode == 0, append.stderr
    assert append.stdout.split() == [str(i).encode() for i in range(len(values))]
    assert entries(root, dst) == values


@pytest.mark.parametrize("fmt, sep", [("line", b"\n"), ("null", b"\0")])
@SETTINGS
@given(values=st.lists(ANY_ENTRY, min_size=1, max_size=12))
@example(values=NASTY)
def test_line_and_null_round_trip_entries_without_their_separator(tmp_path, fmt, sep, values):
    values = [v.replace(sep, b"") for v in values]
    root = tmp_path / "wal"
    src, dst = _stream(), _stream()
    append_values(root, src, values)
    tail, append = pipe(["tail", "-r", str(root), src, "--from", "0", "-F", fmt],
                        ["append", "-r", str(root), dst, "-I", fmt])
    assert (tail.returncode, tail.stderr, append.returncode) == (0, b"", 0)
    assert entries(root, dst) == values


@pytest.mark.parametrize("fmt, sep, name", [("line", b"\n", "newline"), ("null", b"\0", "NUL")])
def test_tail_warns_once_about_an_entry_holding_the_separator(tmp_path, fmt, sep, name):
    root = tmp_path / "wal"
    append_values(root, "s", [b"ok", b"two" + sep + b"parts", b"again" + sep])
    result = run("tail", "-r", str(root), "s", "--from", "0", "-F", fmt)
    assert result.returncode == 0
    assert result.stdout == sep.join([b"ok", b"two" + sep + b"parts", b"again" + sep]) + sep  # printed as is
    lines = result.stderr.decode().splitlines()
    assert lines == [f"ironwal: warning: entry 1 holds a {name}: -F {fmt} prints it as more than one entry "
                     "(lossless: -F jsonl, hex or base64); later ones are not reported"]
    get = run("get", "-r", str(root), "s", "2", "-F", fmt)
    assert b"entry 2 holds" in get.stderr and get.stdout == b"again" + sep + sep


def test_jsonl_text_alone_and_every_field_tail_prints(tmp_path):
    root = tmp_path / "wal"
    records = [{"text": "plain"}, {"text": ""}, {"id": 9, "len": 2, "b64": "AP8="},
               {"id": 1, "len": 3, "b64": "w7xh", "text": "üa"}]
    stdin = "".join(json.dumps(r) + "\n" for r in records).encode()
    result = run("append", "-r", str(root), "s", "-I", "jsonl", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert entries(root, "s") == [b"plain", b"", b"\0\xff", "üa".encode()]


BAD_LINES = {
    "broken json": b'{"b64": "AA=="',
    "neither b64 nor text": b'{"id": 3, "len": 0}',
    "bad base64 in b64": b'{"b64": "A$=="}',
    "len disagrees": b'{"len": 5, "b64": "AA=="}',
    "text disagrees with b64": b'{"b64": "AA==", "text": "x"}',
    "not an object": b"[1, 2]",
    "lone surrogate": b'{"text": "\\ud800"}',
}


@pytest.mark.parametrize("case", BAD_LINES, ids=list(BAD_LINES))
def test_bad_jsonl_line_is_named_and_nothing_of_its_batch_is_written(tmp_path, case):
    root = tmp_path / "wal"
    stdin = b'{"text": "a"}\n{"text": "b"}\n' + BAD_LINES[case] + b'\n{"text": "d"}\n'
    result = run("append", "-r", str(root), "s", "-I", "jsonl", "--batch", "2", stdin=stdin)
    assert result.returncode == EXIT_USAGE
    err = result.stderr.decode()
    assert err.startswith("ironwal: error: stdin line 3: not jsonl") and err.count("\n") == 1, err
    assert result.stdout == b""  # the file arrived at once: one group, refused whole
    assert not (root / "s").exists()  # nothing written, not even the stream's directory


@pytest.mark.parametrize("fmt, bad", [("hex", b"0g"), ("hex", b"abc"), ("hex", b"61 62"),
                                      ("base64", b"YQ"), ("base64", b"Y Q==")])
def test_bad_hex_and_base64_lines_are_named(tmp_path, fmt, bad):
    root = tmp_path / "wal"
    good = {"hex": b"6162", "base64": b"YWI="}[fmt]
    result = run("append", "-r", str(root), "s", "-I", fmt, stdin=good + b"\n" + bad + b"\n")
    assert result.returncode == EXIT_USAGE
    assert result.stderr.decode().startswith(f"ironwal: error: stdin line 2: not {fmt}")
    assert result.stdout == b""


def test_ids_printed_before_a_bad_batch_stand(tmp_path):
    """A batch already durable and printed stays; the bad one that arrives later is not written at all."""
    root = tmp_path / "wal"
    proc = subprocess.Popen(cli("append", "-r", str(root), "s", "-I", "base64", "--linger", "0"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(b"YQ==\nYg==\n")
    proc.stdin.flush()
    assert read_line_within(proc, 30) == b"0\n" and read_line_within(proc, 30) == b"1\n"
    proc.stdin.write(b"Yw==\n!!\nZA==\n")
    proc.stdin.close()
    assert proc.wait(timeout=30) == EXIT_USAGE
    assert proc.stdout.read() == b""
    assert proc.stderr.read().decode().startswith("ironwal: error: stdin line 4: not base64")
    assert entries(root, "s") == [b"a", b"b"]


def test_expect_ids_resumes_a_copy_and_refuses_to_double_or_skip(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "src", [b"e%d" % i for i in range(6)])
    export = run("tail", "-r", str(root), "src", "--from", "0", "-F", "jsonl").stdout
    lines = export.splitlines(keepends=True)
    first = run("append", "-r", str(root), "dst", "-I", "jsonl", "--expect-ids", stdin=b"".join(lines[:2]))
    assert first.stdout == b"0\n1\n"
    again = run("append", "-r", str(root), "dst", "-I", "jsonl", "--expect-ids", stdin=export)  # would double
    assert again.returncode == EXIT_REFUSED
    assert again.stderr.decode().strip().endswith("the next id is 2, not 0 (--expect-ids)")
    assert again.stderr.decode().startswith("ironwal: error: stdin line 1: ")
    skip = run("append", "-r", str(root), "dst", "-I", "jsonl", "--expect-ids", stdin=b"".join(lines[3:]))
    assert skip.returncode == EXIT_REFUSED and entries(root, "dst") == [b"e0", b"e1"]
    resumed = run("append", "-r", str(root), "dst", "-I", "jsonl", "--expect-ids", stdin=b"".join(lines[2:]))
    assert resumed.stdout == b"2\n3\n4\n5\n"
    assert entries(root, "dst") == entries(root, "src")


def test_expect_ids_refuses_records_that_do_not_follow_each_other(tmp_path):
    root = tmp_path / "wal"
    stdin = b'{"id": 0, "text": "a"}\n{"id": 2, "text": "b"}\n'
    result = run("append", "-r", str(root), "s", "-I", "jsonl", "--expect-ids", stdin=stdin)
    assert result.returncode == EXIT_USAGE
    assert "stdin line 2" in result.stderr.decode() and result.stdout == b""
    no_id = run("append", "-r", str(root), "s", "-I", "jsonl", "--expect-ids", stdin=b'{"text": "a"}\n')
    assert no_id.returncode == EXIT_USAGE and 'stdin line 1: no "id"' in no_id.stderr.decode()


@pytest.mark.parametrize("argv", [["-I", "hex", "-0"], ["--whole", "-I", "raw"], ["-I", "hex", "--expect-ids"],
                                  ["-I", "jsonl", "value"], ["-I", "jsonl", "--expect-ids", "--key", "k"]])
def test_conflicting_input_options_are_usage_errors(tmp_path, argv):
    result = run("append", "-r", str(tmp_path / "wal"), "s", *argv)
    assert result.returncode == EXIT_USAGE and result.stderr.count(b"\n") == 1
    assert not (tmp_path / "wal").exists()


def test_raw_input_is_all_of_stdin_as_one_entry(tmp_path):
    root = tmp_path / "wal"
    assert run("append", "-r", str(root), "s", "-I", "raw", stdin=b"a\0b\n\n").stdout == b"0\n"
    assert entries(root, "s") == [b"a\0b\n\n"]
