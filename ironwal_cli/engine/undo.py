"""Putting back what a recover run changed, byte for byte, from its quarantine folder.

Modelled on e2fsck's undo file. Every file the run touched must be exactly as the run left
it (or already back as it was, after an interrupted undo): otherwise nothing is changed.
Each file is rebuilt from its recipe, checked against the sha256 it had before the run, and
only then written (``atomic_write``); files the run created are removed last.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import UndoRefusedError
from .files import TEMP_SUFFIX, atomic_write, fsync_dir, read_file
from .quarantine import read_manifest
from .repair_plan import digest


def _refuse(path, message: str) -> UndoRefusedError:
    return UndoRefusedError(path, None, f"{message}; undo refused, nothing was changed", kind="undo_refused")


def _own_temp(path: str, state: dict | None, entries: dict) -> bool:
    """``path`` is the temp file of an ``atomic_write`` the run was killed in: it holds the new content."""
    base = path[:-len(TEMP_SUFFIX)] if path.endswith(TEMP_SUFFIX) else None
    return state is not None and base in entries and state == entries[base]["after"]


def plan_undo(root: str | os.PathLike, run_dir: str | os.PathLike) -> tuple[dict, dict[str, bytes | None]]:
    """(manifest, {path: bytes to restore, or None to delete}); refuses when anything changed since."""
    root, run_dir = Path(root), Path(run_dir)
    manifest = read_manifest(run_dir)
    entries = {f["path"]: f for f in manifest["files"]}
    current = {path: read_file(root / path) for path in entries}
    for path, f in entries.items():
        state = digest(current[path])
        if state != f["after"] and state != f["before"] and not _own_temp(path, state, entries):
            raise _refuse(root / path, "changed since the recover run")
    blobs = {r["blob"]: r for r in manifest["removed"]}
    restore: dict[str, bytes | None] = {}
    for path, f in entries.items():  # temp files of replacements the run did not finish
        temp = path + TEMP_SUFFIX
        if f["after"] is not None and temp not in entries and _own_temp(temp, digest(read_file(root / temp)), entries):
            restore[temp] = None
    for path, f in entries.items():
        if f["before"] == f["after"] or digest(current[path]) == f["before"]:
            continue  # unchanged by the run, or already put back
        if f["before"] is None:
            restore[path] = None
            continue
        parts = []
        for run in f["recipe"]:
            if "blob" in run:
                data = read_file(run_dir / run["blob"])
                meta = blobs.get(run["blob"])
                if data is None or meta is None or hashlib.sha256(data).hexdigest() != meta["sha256"]:
                    raise _refuse(run_dir / run["blob"], "quarantined bytes missing or altered")
            else:
                src = run["path"]
                if src not in entries or digest(current[src]) != entries[src]["after"]:
                    raise _refuse(root / src, "a file the undo copies from is no longer as the run left it")
                data = current[src][run["offset"]:run["offset"] + run["length"]]
            if len(data) != run["length"]:
                raise _refuse(root / path, "recipe does not fit the saved bytes")
            parts.append(data)
        content = b"".join(parts)
        if digest(content) != f["before"]:
            raise _refuse(root / path, "rebuilt content does not match the sha256 recorded before the run")
        restore[path] = content
    return manifest, restore


def apply_undo(root: str | os.PathLike, restore: dict[str, bytes | None]) -> None:
    """Write restored files (temp-named ones last, so no atomic_write temp clobbers them), then delete."""
    root = Path(root)
    writes = sorted((p for p, c in restore.items() if c is not None), key=lambda p: (p.endswith(TEMP_SUFFIX), p))
    for path in writes:
        atomic_write(root / path, restore[path])
    for path in sorted(p for p, c in restore.items() if c is None):
        try:
            os.unlink(root / path)
        except FileNotFoundError:
            pass
        fsync_dir((root / path).parent)
