"""Roots for the undo tests, and a snapshot of a whole tree that sees what undo must restore.

``tree`` records every name under a directory with its type, mode and content (bytes for a
file, the target for a symbolic link), ``seals.idx`` included: byte-exact means all of it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions

STREAM = "s"
TORN = b"LAWL" + b"\x01" * 20  # a torn frame header: recover cuts it off


def entries(n: int) -> list[bytes]:
    return [b"entry %d\n\x00" % k for k in range(n)]


def build(root: Path, n: int = 12, per_segment: int = 4) -> Path:
    """Stream ``s`` holding ``n`` entries, ``per_segment`` per segment."""
    with StreamWriter(root, STREAM, WriteOptions(max_entries_per_segment=per_segment)) as w:
        for data in entries(n):
            w.append(data)
    return root / STREAM


def segments(root: Path) -> list[Path]:
    layout = StreamListing.read(root / STREAM)
    return [layout.segment_path(s) for s in layout.segment_ids]


def tear(segment: Path) -> None:
    with open(segment, "ab") as f:
        f.write(TORN)


def tree(top: Path) -> dict[str, tuple]:
    """{relative name: (kind, mode, content)} of everything under ``top``, links not followed."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(top))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", None, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None)
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return out


def ironwal(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a process of its own."""
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args], capture_output=True, check=False,
                          cwd=cwd)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ironwal: error: "), result.stderr
    assert b"Traceback" not in result.stderr
    return lines[0]


def frame_offsets(segment: Path) -> list[tuple[int, int]]:
    """(offset, end) of each intact frame of ``segment``."""
    from ironwal_cli.engine.frames.scan import Frame, map_file, scan

    return [(f.offset, f.end_offset) for f in scan(map_file(segment)) if isinstance(f, Frame)]


def break_frame(segment: Path, index: int) -> None:
    """Flip the last byte of frame ``index``'s payload (a bad CRC): recover splits the segment there."""
    start, end = frame_offsets(segment)[index]
    data = bytearray(segment.read_bytes())
    data[end - 1] ^= 0xFF
    segment.write_bytes(bytes(data))


def edit_manifest(run: Path, change, reseal: bool = True) -> None:
    """Apply ``change`` to the run's manifest; ``reseal``: recompute its sha256, as a forger would."""
    import json

    from ironwal_cli.engine.repair import quarantine

    path = run / "manifest.json"
    manifest = json.loads(path.read_bytes())
    change(manifest)
    if reseal and hasattr(quarantine, "manifest_digest"):  # (absent before manifests had one)
        manifest["sha256"] = quarantine.manifest_digest(manifest)
    path.write_text(json.dumps(manifest, indent=1))


def insert_garbage(segment: Path, index: int, garbage: bytes = b"\xab" * 10) -> None:
    """Garbage between frames ``index`` and ``index + 1``: recover rewrites the segment without it."""
    _, end = frame_offsets(segment)[index]
    data = segment.read_bytes()
    segment.write_bytes(data[:end] + garbage + data[end:])
