"""Speed-ups around the commands change nothing a user sees: output bytes, command table, refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ironwal_cli import DamagedTailError, StreamWriter, WriteOptions, fdio
from ironwal_cli.cli.entry_output import BatchedOutput, renderer
from ironwal_cli.cli.launcher import COMMAND_MODULES
from ironwal_cli.fdio import PIPE_SIZE, grow_pipe

# ----- the console script's table of commands ----------------------------------------------------


def test_command_table_matches_the_full_app():
    from ironwal_cli.cli.main import app

    defined = {(c.name or c.callback.__name__).replace("_", "-"): c.callback.__module__
               for c in app.registered_commands}
    for group in app.registered_groups:  # e.g. `checkpoint`: its subcommands live in one module
        modules = {c.callback.__module__ for c in group.typer_instance.registered_commands}
        assert len(modules) == 1, group.name
        defined[group.name] = modules.pop()
    for name, module in COMMAND_MODULES.items():
        assert defined.get(name) == f"ironwal_cli.cli.{module}", name
    missing = {name: module.rsplit(".", 1)[-1] for name, module in defined.items() if name not in COMMAND_MODULES}
    assert not missing, f"add these to COMMAND_MODULES in ironwal_cli/cli/launcher.py: {missing}"


def _ironwal(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args], input=stdin, capture_output=True)


def test_console_script_runs_each_command_and_still_knows_the_others(root):
    r = str(root)
    assert _ironwal("append", "s", "a", "b", "-r", r).stdout == b"0\n1\n"
    assert _ironwal("tail", "s", "-r", r).stdout == b"a\nb\n"
    assert _ironwal("get", "s", "1", "-r", r).stdout == b"b\n"
    assert _ironwal("ls", "-r", r).stdout.splitlines()[1].split(b"\t")[:4] == [b"s", b"1", b"0", b"2"]
    unknown = _ironwal("no-such-command", "-r", r)
    assert unknown.returncode == 2 and b"No such command" in unknown.stderr
    assert b"append" in _ironwal("--help").stdout  # the full app: every command listed


def test_group_callback_keeps_commands_as_subcommands(root):
    from ironwal_cli.cli.main import app

    result = CliRunner().invoke(app, ["append", "s", "x", "-r", str(root)])
    assert result.exit_code == 0 and result.output == "0\n"


# ----- tail output: big writes, same bytes ------------------------------------------------------


def _batches():
    return [(i * 3, [b"e%d" % i, b"", b"\n\x00\xff" * i]) for i in range(50)]


@pytest.mark.parametrize("fmt", ["raw", "line", "null", "jsonl", "hex", "base64"])
@pytest.mark.parametrize("hold", [True, False])
def test_batched_output_writes_what_the_renderer_renders(fmt, hold, monkeypatch):
    render = renderer(fmt)
    expected = b"".join(render(first, entries) for first, entries in _batches())
    monkeypatch.setattr(BatchedOutput, "SIZE", 100)  # force many flushes of several batches
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as stream:
        out = BatchedOutput(stream, hold=hold)
        assert out.fd == write_fd  # a real descriptor: writev is used
        for first, entries in _batches():
            out.write(render(first, entries))
        out.flush()
    with os.fdopen(read_fd, "rb") as f:
        assert f.read() == expected
    buffer = io.BytesIO()  # no descriptor (a test runner's buffer): plain writes
    out = BatchedOutput(buffer, hold=hold)
    assert out.fd is None
    for first, entries in _batches():
        out.write(render(first, entries))
    out.flush()
    assert buffer.getvalue() == expected


def test_tail_through_a_pipe_is_byte_exact_past_many_output_buffers(root):
    entries = [bytes([i % 256]) * (i % 700) + b"\n\x00" for i in range(6000)]  # ~2 MB
    with StreamWriter(root, "big", WriteOptions(sync="async")) as w:
        for i in range(0, len(entries), 1000):
            w.append_batch(entries[i:i + 1000])
    out = _ironwal("tail", "big", "-r", str(root), "--from", "0", "--format", "raw")
    assert out.returncode == 0 and out.stdout == b"".join(entries)


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETPIPE_SZ"), reason="pipe sizes are Linux-only")
def test_grow_pipe_enlarges_pipes_and_leaves_files_alone(tmp_path):
    import fcntl

    read_fd, write_fd = os.pipe()
    try:
        grow_pipe(write_fd)
        assert fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ) >= min(PIPE_SIZE, _pipe_max())
    finally:
        os.close(read_fd)
        os.close(write_fd)
    with open(tmp_path / "f", "wb") as f:
        grow_pipe(f.fileno())  # not a pipe: nothing happens, nothing raised
    grow_pipe(987654)  # not even a descriptor


def _pipe_max() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return int(f.read())
    except OSError:
        return 65536


def test_writev_all_finishes_a_short_write(tmp_path, monkeypatch):
    real_write = os.write

    def short_writev(fd, parts):
        return real_write(fd, bytes(parts[0][:3]))  # the OS took only 3 bytes

    monkeypatch.setattr(fdio.os, "writev", short_writev)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        fdio.writev_all(fd, [b"header", b"payload", b""])
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"headerpayload"


# ----- the writer's quick tail walk refuses every damaged tail it refused before -------------------


def _flip_last(data: bytearray) -> None:
    data[-1] ^= 0xFF  # last byte of the last payload: a complete frame with a bad CRC


def _renumber_first(data: bytearray) -> None:
    data[8] = 7  # start_id of the first frame: CRC-covered, so the full check calls it a bad CRC


def _renumber_first_with_good_crc(data: bytearray) -> None:
    from ironwal_cli.spec.codec import HEADER_SIZE, frame_crc, unpack_header

    _renumber_first(data)
    header = unpack_header(data)
    payload = data[HEADER_SIZE:HEADER_SIZE + header.disk_size]
    data[4:8] = frame_crc(data[:HEADER_SIZE], payload).to_bytes(4, "little")  # intact frame, wrong id


# (A torn final frame is no longer refused: it is quarantined, see tests/recover/test_writer_tail_repair.py.)
@pytest.mark.parametrize("damage,kind", [
    (lambda d: d.extend(b"\x00" * 40), "bad_magic"),
    (_flip_last, "bad_crc"),
    (_renumber_first, "bad_crc"),
    (_renumber_first_with_good_crc, "id_sequence"),
])
def test_damaged_tails_are_refused(root, damage, kind):
    with StreamWriter(root, "s", WriteOptions(sync="async")) as w:
        w.append_batch([b"a", b"b"])
        w.append_batch([b"c"])
    seg = root / "s" / "00000000000000000000.wal"
    data = bytearray(seg.read_bytes())
    damage(data)
    seg.write_bytes(bytes(data))
    with pytest.raises(DamagedTailError) as err:
        with StreamWriter(root, "s") as w:
            w.append(b"more")
    assert err.value.kind == kind
    assert "ironwal recover" in str(err.value)
    assert seg.read_bytes() == bytes(data)  # nothing written after the damage


def test_pages_already_read_are_dropped_and_reading_goes_on_unchanged(root, monkeypatch):
    from ironwal_cli import StreamReader
    from ironwal_cli.engine.frames import scan

    calls = []
    real = scan.MappedPages.release_before

    def spy(self, offset):
        before = self.done
        real(self, offset)
        if self.done != before:
            calls.append((before, self.done))

    monkeypatch.setattr(scan.MappedPages, "STEP", 4096)
    monkeypatch.setattr(scan.MappedPages, "release_before", spy)
    entries = [b"%06d" % i * 50 for i in range(3000)]
    with StreamWriter(root, "s", WriteOptions(sync="async")) as w:
        for i in range(0, len(entries), 100):
            w.append_batch(entries[i:i + 100])
    got = [e for _, e in StreamReader(root, "s").entries(0)]
    assert got == entries
    assert len(calls) > 10 and all(a < b and a % 4096 == 0 and b % 4096 == 0 for a, b in calls)


def test_many_tiny_batches_stay_within_one_writev(tmp_path):
    read_fd, write_fd = os.pipe()
    parts = [b"%d;" % i for i in range(5000)]  # tiny rendered batches: far more than IOV_MAX
    with os.fdopen(write_fd, "wb") as stream:
        out = BatchedOutput(stream)
        for p in parts:
            out.write(p)
        out.flush()
    with os.fdopen(read_fd, "rb") as f:
        assert f.read() == b"".join(parts)


def test_entries_before_damage_are_printed_before_the_error():
    root = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance" / "torn-tail" / "root"
    expected = [json.loads(line) for line in (root.parent / "expected.jsonl").read_text().splitlines()]
    want = [bytes.fromhex(e["hex"]) for e in expected if e.get("stream") == "tp" and "hex" in e]
    assert want  # the case has intact entries before its torn frame
    out = _ironwal("tail", "tp", "-r", str(root), "--from", "0", "--format", "null")
    assert out.returncode == 3 and b"ironwal: error:" in out.stderr
    assert out.stdout == b"".join(e + b"\0" for e in want)


@pytest.mark.parametrize("hold", [True, False])
def test_freed_output_buffers_are_kept_only_once_output_is_bulk(hold, monkeypatch):
    """One-shot output never sets up the heap tuning (nor imports ctypes); bulk output does, once."""
    from ironwal_cli.cli import heap

    calls = []
    monkeypatch.setattr(heap, "keep_freed_memory", lambda: calls.append(1))
    stream = io.BytesIO()
    out = BatchedOutput(stream, hold=hold)
    out.write(b"x" * 1000)
    assert calls == []
    for _ in range(3):
        out.write(b"y" * BatchedOutput.SIZE)
    out.flush()
    assert calls == ([1] if hold else [])
    assert stream.getvalue() == b"x" * 1000 + b"y" * (3 * BatchedOutput.SIZE)



@pytest.mark.parametrize("args", [["append", "s", "v"], ["tail", "s", "-n", "1"], ["get", "s", "0"]])
def test_the_quick_commands_import_only_what_they_use(root, args):
    """`ironwal append` runs in shell loops: no construct (the spec; the fast codec is generated
    from it), no rich (tables on a terminal), no lz4 (only LZ4 frames need it), no json."""
    _ironwal("append", "s", "first", "-r", str(root))
    probe = ("import sys\nsys.argv = ['ironwal', *sys.argv[1:]]\nfrom ironwal_cli.cli.launcher import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\nsys.stderr.write(' '.join(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", probe, *args, "-r", str(root)], capture_output=True)
    loaded = set(result.stderr.decode().split())
    assert "ironwal_cli.engine.writer.writer" in loaded or "ironwal_cli.engine.reader.reader" in loaded
    unwanted = {"construct", "rich", "lz4", "lz4.frame", "json", "ironwal_cli.spec.declarations",
                "ironwal_cli.cli.sharded_append"}
    assert not loaded & unwanted
