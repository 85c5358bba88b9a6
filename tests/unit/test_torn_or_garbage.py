"""One rule tells a write cut short from garbage at the end of a segment (engine/frames/scan.py
``Problem.incomplete``), and every consumer follows it: the verifier (torn_header or trailing_bytes),
the writer (cuts a torn tail itself, refuses garbage), recover's label, and ``tail -f`` (waits for the
rest of a torn write, reports garbage as damage)."""

from __future__ import annotations

import subprocess

import pytest
from wal_invariants import CLI, cli

from ironwal_cli.engine.frames.scan import TORN_HEADER, Problem, scan
from ironwal_cli.ops.verify import verify_root
from ironwal_cli.spec.codec import FRAME_MAGIC_BYTES

SEGMENT = "s/00000000000000000000.wal"
TAILS = {"torn": FRAME_MAGIC_BYTES[:3], "garbage": b"\x00\x01\x02"}


@pytest.fixture(params=sorted(TAILS))
def tail(request, tmp_path):
    root = tmp_path / "wal"
    assert cli("append", "s", "a", "b", "-r", root).returncode == 0
    with open(root / SEGMENT, "ab") as f:
        f.write(TAILS[request.param])
    return request.param, root


def test_the_scanner_says_which(tail):
    kind, root = tail
    last = list(scan((root / SEGMENT).read_bytes()))[-1]
    assert type(last) is Problem and last.kind == TORN_HEADER
    assert last.incomplete == (kind == "torn")
    data = (root / SEGMENT).read_bytes()
    frame = data[:len(data) - len(TAILS[kind])]
    cut = list(scan(frame[:-1]))[-1]  # the last frame's payload one byte short: a torn payload
    assert (cut.kind, cut.incomplete) == ("torn_payload", True)
    damaged = list(scan(frame[:-1] + b"\xff"))[-1]  # whole again, but a wrong byte: damage, not a torn write
    assert (damaged.kind, damaged.incomplete) == ("bad_crc", False)


def test_verify_writer_and_follower_agree(tail):
    kind, root = tail
    kinds = [p.kind for p in verify_root(root).problems]
    assert kinds == (["torn_header"] if kind == "torn" else ["trailing_bytes"])
    follower = subprocess.Popen([*CLI, "tail", "-f", "s", "-r", str(root)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        out, err = follower.communicate(timeout=3)
        waited = False
    except subprocess.TimeoutExpired:  # still following: it waits for the rest of the write
        follower.kill()
        out, err = follower.communicate()
        waited = True
    assert out == b"a\nb\n"
    assert waited == (kind == "torn"), err
    if kind == "garbage":
        assert follower.returncode == 3 and err.count(b"\n") == 1, err
    append = cli("append", "s", "c", "-r", root)
    if kind == "torn":  # the writer cuts its own torn tail (to quarantine) and appends
        assert (append.returncode, append.stdout) == (0, b"2\n"), append.stderr
        assert b"torn tail before append" in append.stderr
    else:
        assert append.returncode == 3 and append.stdout == b"", append.stderr
