"""Shared by the reliability tests: run the CLI, read a stream back, check the WAL invariants.

The invariants every crash, cut, fault and race must leave intact:
  - ids start at 0 and are contiguous (the reader raises GapError otherwise);
  - the entry with id i is, byte for byte, the i-th entry ever sent to the stream
    (so no entry appears that was not sent, none is duplicated, none reordered);
  - every acknowledged id is present;
  - damage, if any, is a torn or unsynced tail of the last segment, never inside the data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.names import sanitize_key
from ironwal_cli.errors import FormatError, GapError
from ironwal_cli.ops.verify import verify_root

CLI = [sys.executable, "-m", "ironwal_cli"]
LONG = os.environ.get("IRONWAL_LONG_TESTS") == "1"  # thousands of kills, cuts and fuzz examples
FUZZ_EXAMPLES = int(os.environ.get("IRONWAL_FUZZ_EXAMPLES", "2000" if LONG else "150"))
# Hypothesis deadline per example: only in the long run (no timed assertions in the normal run;
# there, linear work on crafted input is shown by counting CRC bytes, not by a clock).
FUZZ_DEADLINE = 10_000 if LONG else None


def cli(*args, input: bytes | None = None, env: dict | None = None, timeout: float = 60,
        preexec_fn=None) -> subprocess.CompletedProcess:
    """Run ``ironwal ARGS`` in a real subprocess, capturing bytes."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *map(os.fspath, args)], input=input, capture_output=True, env=full_env,
                          timeout=timeout, preexec_fn=preexec_fn)


def read_until_damage(root: Path, key: str) -> tuple[list[bytes], FormatError | None]:
    """Every entry the library reader delivers, and the FormatError that stopped it (None: clean).

    A gap is never acceptable damage: GapError propagates and fails the test. A stream that was
    never created (a kill before its first write) reads as empty.
    """
    entries: list[bytes] = []
    if not (Path(root) / sanitize_key(key)).is_dir():
        return entries, None
    try:
        reader = StreamReader(root, key)
        for entry_id, entry in reader.entries(0):
            assert entry_id == len(entries), f"id {entry_id} delivered where {len(entries)} was expected"
            entries.append(entry)
    except GapError:
        raise
    except FormatError as err:
        return entries, err
    return entries, None


def damage_outside_tail(stream_dir: Path) -> list[str]:
    """Problems anywhere but at the very end of the last segment (what a crash may leave)."""
    layout = StreamListing.read(stream_dir)
    ids = layout.segment_ids
    found = []
    for k, start in enumerate(ids):
        data = map_file(layout.segment_path(start))
        for item in scan(data):
            if isinstance(item, Frame):
                continue
            at_tail = k == len(ids) - 1 and item.offset + item.length == len(data)
            if not at_tail:
                found.append(f"{layout.segment_files[start]} at {item.offset}: {item.kind} {item.message}")
    return found


# What `verify` may report after a crash that left every entry intact: segments.idx or head.state
# not (or half) updated by a crash inside a rotation, a stream creation or an index append, or a
# stray temp file. The writer and recover mend all of these; data problems must match the reader's.
def _metadata_only(kind: str) -> bool:
    return kind.startswith(("index_", "head_state_")) or kind == "stray_temp_file"


def verify_kinds(root: Path, key: str) -> list[str]:
    """The kinds of problem ``verify`` finds in one stream."""
    if not (Path(root) / sanitize_key(key)).is_dir():
        return []
    return [p.kind for p in verify_root(root, [sanitize_key(key)], jobs=1).problems]


def check_stream(root: Path, key: str, sent: list[bytes], acked: int, *, damage_ok: bool = True) -> list[bytes]:
    """Assert the invariants for a stream that was sent ``sent``, of which the first ``acked`` were
    acknowledged; returns the entries read. ``verify`` (when present) must agree with the reader."""
    entries, damage = read_until_damage(root, key)
    assert len(entries) >= acked, f"acknowledged {acked} entries, only {len(entries)} readable ({damage})"
    assert len(entries) <= len(sent), f"{len(entries)} entries read, only {len(sent)} were sent"
    for i, entry in enumerate(entries):
        if entry != sent[i]:
            raise AssertionError(f"entry {i} is {entry[:60]!r}, the {i}-th entry sent was {sent[i][:60]!r}")
    if damage is not None:
        assert damage_ok, f"unexpected damage: {damage}"
        stream_dir = Path(root) / sanitize_key(key)
        assert not damage_outside_tail(stream_dir), damage_outside_tail(stream_dir)
    kinds = verify_kinds(root, key)
    found = {k for k in kinds if not _metadata_only(k)}
    assert bool(found) == (damage is not None), f"verify found {kinds}, the reader {damage}"
    return entries
