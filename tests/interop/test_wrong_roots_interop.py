"""Roots the crate makes keep working with the wrong-root rule (engine/store/roots.py, issue 14.8):
directories made by hand before the crate opened the root, which it turns into streams with an
empty segments.idx, and roots of nothing but empty directories. Proven by running the crate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from crate_oracle import dump, iwref_present, write

pytestmark = pytest.mark.skipif(not iwref_present(), reason="the crate's driver is absent")


def ironwal(*args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *map(str, args)], capture_output=True, env=env,
                          timeout=60)


def test_dirs_made_by_hand_then_opened_by_the_crate_are_streams_ironwal_reads_and_writes(tmp_path):
    root = tmp_path / "root"
    (root / "hand").mkdir(parents=True)
    (root / "other").mkdir()
    write(root, {"options": {}, "ops": [{"op": "append", "stream": "a", "value": "x"}]})
    assert (root / "hand" / "segments.idx").read_bytes() == b""  # what the crate made of it
    listed = ironwal("ls", "-r", root)
    assert listed.returncode == 0, listed.stderr
    assert [line.split(b"\t")[0] for line in listed.stdout.splitlines()[1:]] == [b"a", b"hand", b"other"]
    assert ironwal("tail", "hand", "-r", root).returncode == 0
    assert ironwal("append", "hand", "h1", "-r", root).stdout == b"0\n"
    assert ironwal("verify", "-r", root).returncode == 0
    replay = dump(root)
    assert replay.streams["hand"].entries == {0: b"h1"} and replay.streams["a"].entries == {0: b"x"}


def test_a_root_of_empty_dirs_takes_a_new_stream_the_crate_reads(tmp_path):
    root = tmp_path / "root"
    (root / "pre").mkdir(parents=True)
    assert ironwal("append", "s", "v", "-r", root).returncode == 0
    assert ironwal("append", "pre", "w", "-r", root).returncode == 0
    replay = dump(root)
    assert replay.streams["s"].entries == {0: b"v"} and replay.streams["pre"].entries == {0: b"w"}


def test_what_ironwal_refuses_is_not_a_root_the_crate_made(tmp_path):
    """The refusal needs a file that no IronWal root holds: every crate root passes the rule."""
    from ironwal_cli.engine.store.roots import foreign_root_reason

    root = tmp_path / "root"
    write(root, {"options": {}, "ops": [{"op": "append_batch", "stream": "b", "values": ["1", "2"]},
                                       {"op": "append", "stream": "c", "value": "3"}]})
    assert foreign_root_reason(root) is None
    for stream in Path(root).iterdir():
        assert ironwal("tail", stream.name, "-r", root).returncode == 0
