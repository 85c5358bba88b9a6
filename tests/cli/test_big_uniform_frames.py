"""A frame of more than 4,096 equal-length entries (``append --batch 5000`` writes one) comes out
in every ``--format`` of ``tail``, ``get`` and ``inspect --entries``, and the Python API hands
out ``bytes``, never a slice of the mapped segment (issue 17 item 3: ``-F jsonl`` crashed on a
memoryview)."""

from __future__ import annotations

import base64
import json

import pytest
from jsonl_output import decode_jsonl
from wal_invariants import cli

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.reader.reader import StreamReader

COUNT = 5000
ENTRIES = [b"%04d" % (i % 10000) for i in range(COUNT - 1)] + [b"\xff\n\x00"[:1] * 4]  # one not UTF-8
SEGMENT = "00000000000000000000.wal"
ENCODE = {
    "line": lambda es: b"".join(e + b"\n" for e in es),
    "raw": lambda es: b"".join(es),
    "null": lambda es: b"".join(e + b"\0" for e in es),
    "hex": lambda es: b"".join(e.hex().encode() + b"\n" for e in es),
    "base64": lambda es: b"".join(base64.b64encode(e) + b"\n" for e in es),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("uniform") / "wal"
    done = cli("append", "-r", root, "s", "--batch", str(COUNT), "-q", "-0",
               input=b"".join(e + b"\0" for e in ENTRIES), timeout=60)
    assert done.returncode == 0, done.stderr
    frames = [i for i in scan(map_file(root / "s" / SEGMENT)) if isinstance(i, Frame)]
    assert [f.header.entry_count for f in frames] == [COUNT]  # one frame: the case that crashed
    return root


def test_reader_hands_out_bytes(root):
    got = [e for _, e in StreamReader(root, "s").entries()]
    assert got == ENTRIES
    assert {type(e) for e in got} == {bytes}
    assert type(StreamReader(root, "s").get(COUNT - 1)) is bytes


@pytest.mark.parametrize("fmt", ["jsonl", *ENCODE])
def test_tail_and_get_in_every_format(root, fmt):
    tail = cli("tail", "-r", root, "s", "-n", str(COUNT), "-F", fmt, timeout=60)
    get = cli("get", "-r", root, "s", str(COUNT - 1), "-F", fmt, timeout=60)
    assert (tail.returncode, tail.stderr, get.returncode, get.stderr) == (0, b"", 0, b"")
    if fmt == "jsonl":
        assert decode_jsonl(tail.stdout) == list(enumerate(ENTRIES))
        assert decode_jsonl(get.stdout) == [(COUNT - 1, ENTRIES[-1])]
    else:
        assert tail.stdout == ENCODE[fmt](ENTRIES)
        assert get.stdout == ENCODE[fmt](ENTRIES[-1:])


def test_inspect_entries_jsonl_and_json(root):
    seg = root / "s" / SEGMENT
    lines = cli("inspect", seg, "--entries", "-F", "jsonl", timeout=60)
    assert lines.returncode == 0, lines.stderr
    frames = [json.loads(line) for line in lines.stdout.splitlines()]  # pure JSON: one object per frame
    assert [(e["id"], base64.b64decode(e["b64"])) for f in frames for e in f["entries"]] == list(enumerate(ENTRIES))
    whole = cli("inspect", seg, "--entries", "--json", timeout=60)
    assert whole.returncode == 0, whole.stderr
    rows = json.loads(whole.stdout)["rows"]
    assert [base64.b64decode(e["b64"]) for e in rows[0]["entries"]] == ENTRIES
