"""Entry bytes survive every append input mode and every output format, exactly.

Entries hold NUL, ``\\n``, ``\\r\\n``, invalid UTF-8, nothing at all, and one is 5 MB. Each
input mode gets the entries it can carry (a line cannot hold ``\\n``, a NUL-terminated record
cannot hold NUL, an argument can hold neither NUL nor 5 MB), and every output is decoded back
and compared byte for byte.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from jsonl_output import decode_jsonl
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.errors import EXIT_NOT_FOUND

BIG_SIZE = 5_000_000
_ALL_BYTES = bytes(range(256)) * (BIG_SIZE // 256 + 1)
BIG_NO_NEWLINE = _ALL_BYTES.replace(b"\n", b"")[:BIG_SIZE]
BIG_NO_NUL = _ALL_BYTES.replace(b"\0", b"")[:BIG_SIZE]
BIG_ANY = _ALL_BYTES[:BIG_SIZE]

# Arguments: no NUL (execve's strings end at NUL) and no 5 MB (Linux caps one argument at 128 KiB).
ARG_ENTRIES = [b"a\nb", b"crlf\r\n", b"", b"\xff\xfe invalid utf-8", "ümlaut".encode()]
LINES_INPUT = b"plain\nwith\0nul\ncr\r\n\n\xff\xfe bad\n" + BIG_NO_NEWLINE + b"\nlast without newline"
LINE_ENTRIES = [b"plain", b"with\0nul", b"cr\r", b"", b"\xff\xfe bad", BIG_NO_NEWLINE, b"last without newline"]
NULL_INPUT = b"a\nb\0crlf\r\n\0\0\xff\0" + BIG_NO_NUL + b"\0"
NULL_ENTRIES = [b"a\nb", b"crlf\r\n", b"", b"\xff", BIG_NO_NUL]

STREAMS = {  # stream -> (append arguments, stdin, entries)
    "args": (["--", *ARG_ENTRIES], None, ARG_ENTRIES),
    "lines": ([], LINES_INPUT, LINE_ENTRIES),
    "nul": (["-0"], NULL_INPUT, NULL_ENTRIES),
    "nul-long": (["--null"], b"x\0y", [b"x", b"y"]),  # an unterminated last record is an entry too
    "whole": (["--whole"], BIG_ANY, [BIG_ANY]),
    "whole-empty": (["--whole"], b"", [b""]),
}
FORMATS = ["line", "raw", "null", "jsonl", "hex", "base64"]


def cli(*args) -> list:
    return [sys.executable, "-m", "ironwal_cli", *args]


@pytest.fixture(scope="module")
def wal(tmp_path_factory) -> Path:
    """One root with a stream per input mode, each written by a real ``ironwal append`` process."""
    root = tmp_path_factory.mktemp("binary") / "wal"
    procs = {}
    for name, (extra, stdin, _) in STREAMS.items():
        argv = cli("append", "-r", str(root), "--sync", "async", name, *extra)
        procs[name] = (subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE), stdin)
    for name, (proc, stdin) in procs.items():
        out, err = proc.communicate(stdin or b"", timeout=60)
        assert proc.returncode == 0, err
        n = len(STREAMS[name][2])
        assert out.split() == [str(i).encode() for i in range(n)], name  # one printed id per entry
    return root


def render(fmt: str, entries: list[bytes]) -> bytes:
    """What each format promises, written out independently of the CLI's renderers."""
    if fmt == "line":
        return b"".join(e + b"\n" for e in entries)
    if fmt == "raw":
        return b"".join(entries)
    if fmt == "null":
        return b"".join(e + b"\0" for e in entries)
    if fmt == "hex":
        return b"".join(e.hex().encode() + b"\n" for e in entries)
    if fmt == "base64":
        return b"".join(base64.b64encode(e) + b"\n" for e in entries)
    raise AssertionError(fmt)


def decode(fmt: str, out: bytes, first: int = 0) -> list[bytes]:
    """Entries back from a format's output (line and null only for entries they can represent)."""
    if fmt == "jsonl":
        records = decode_jsonl(out)
        assert [i for i, _ in records] == list(range(first, first + len(records)))
        return [e for _, e in records]
    if fmt == "hex":
        return [bytes.fromhex(x.decode()) for x in out.split(b"\n")[:-1]]
    if fmt == "base64":
        return [base64.b64decode(x, validate=True) for x in out.split(b"\n")[:-1]]
    sep = {"line": b"\n", "null": b"\0"}[fmt]
    assert out.endswith(sep)
    return out[:-1].split(sep)


def representable(fmt: str, entries: list[bytes]) -> bool:
    if fmt == "line":
        return not any(b"\n" in e for e in entries)
    if fmt == "null":
        return not any(b"\0" in e for e in entries)
    return fmt != "raw"  # raw output has no boundaries: compared as bytes only


def check_tail_output(fmt: str, out: bytes, entries: list[bytes], name: str) -> None:
    if fmt != "jsonl":
        assert out == render(fmt, entries), name
    if representable(fmt, entries):
        assert decode(fmt, out) == entries, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_tail_every_stream_every_format(wal, fmt):
    runner = CliRunner()
    for name, (_, _, entries) in STREAMS.items():
        result = runner.invoke(app, ["tail", name, "-r", str(wal), "--from", "0", "--format", fmt])
        assert result.exit_code == 0, (name, result.output)
        check_tail_output(fmt, result.stdout_bytes, entries, name)


def test_tail_every_format_real_processes(wal):
    """Real processes writing to a real pipe: the stream with NUL, \r, invalid UTF-8, empty and 5 MB entries."""
    procs = {fmt: subprocess.Popen(cli("tail", "lines", "-r", str(wal), "--from", "0", "--format", fmt),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE) for fmt in FORMATS}
    for fmt, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, fmt
        if fmt in ("line", "null") and not representable(fmt, LINE_ENTRIES):  # entry 1 holds a NUL
            assert err.startswith(b"ironwal: warning: entry 1 holds a NUL: -F null") and err.count(b"\n") == 1
        else:
            assert err == b"", fmt
        check_tail_output(fmt, out, LINE_ENTRIES, fmt)


def test_line_and_null_formats_map_entries_they_cannot_separate(wal):
    """An entry holding the separator is still written verbatim: the format's mapping, not a loss."""
    runner = CliRunner()
    out = runner.invoke(app, ["tail", "args", "-r", str(wal), "--from", "0", "--format", "line"]).stdout_bytes
    assert out == b"a\nb\ncrlf\r\n\n\n\xff\xfe invalid utf-8\n" + "ümlaut".encode() + b"\n"
    out = runner.invoke(app, ["tail", "lines", "-r", str(wal), "--from", "1", "-c", "1", "--format", "null"])
    assert out.stdout_bytes == b"with\0nul\0"


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_every_entry_every_format(wal, fmt):
    runner = CliRunner()
    for name, (_, _, entries) in STREAMS.items():
        for i, e in enumerate(entries):
            result = runner.invoke(app, ["get", name, str(i), "-r", str(wal), "--format", fmt])
            assert result.exit_code == 0, (name, i, result.output)
            out = result.stdout_bytes
            if fmt == "jsonl":
                assert decode("jsonl", out, first=i) == [e]
            else:
                assert out == render(fmt, [e]), (name, i)


def test_get_missing_id_exits_6_not_found(wal):
    result = subprocess.run(cli("get", "lines", str(len(LINE_ENTRIES)), "-r", str(wal)), capture_output=True)
    assert result.returncode == EXIT_NOT_FOUND and result.stdout == b""
    assert result.stderr.decode().startswith("ironwal: error: ") and result.stderr.count(b"\n") == 1
