"""A new segment file's directory entry is synced before any id in it is promised.

fdatasync of the file alone does not make its name durable: after a power cut the file
could be missing although its data was synced. The hook records every sync the writer makes.
"""

from __future__ import annotations

import os

from ironwal_cli.engine import seams
from ironwal_cli.ops.append import append_values

SEGMENT = "00000000000000000000.wal"


def test_first_segment_name_is_synced_with_its_directory(root, monkeypatch):
    stream = root / "s"
    synced: list[tuple[str, bool]] = []

    def hook(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), (stream / SEGMENT).exists()))

    monkeypatch.setattr(seams, "sync_hook", hook)
    assert append_values(root, "s", [b"one"]) == range(0, 1)
    assert (str(stream.resolve()), True) in synced  # the directory, synced once the segment existed
    assert synced[-1] == (str((stream / SEGMENT).resolve()), True)  # and the entry itself (strict mode)
