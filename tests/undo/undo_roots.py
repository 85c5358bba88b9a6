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

from ironwal_cli.engine.layout import StreamLayout
from ironwal_cli.engine.writer import StreamWriter, WriteOptions

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
    layout = StreamLayout.read(root / STREAM)
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
