"""Putting back what a recover run changed, exactly, from its quarantine folder.

Modelled on e2fsck's undo file. Every file the run touched must be exactly as the run left
it (or already back as it was, after an interrupted undo): otherwise nothing is changed.
Each file is rebuilt from its recipe, checked against the sha256 it had before the run, and
only then written; files the run created are removed last. What comes back is what was
there: a regular file with its bytes and mode, or a symbolic link with its target.

The manifest is not trusted to stay inside the root: it lives outside it, where anyone may
edit it (its own sha256 catches an edit, not a forger). Every path it names is checked
before anything is touched (relative, no ``..``, no absolute path), and every read and write
goes through ``confined.ConfinedRoot``, which never follows a symbolic link at any
component. One bad path refuses the whole run.

``seals.idx`` (``change: cache``) is only a cache: when it is no longer as the run left it
(a later append sealed its segment), undo leaves it as it is instead of refusing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...errors import UndoRefusedError
from ..store.confined import (
    FILE,
    SYMLINK,
    ConfinedRoot,
    FileState,
    OutsideRootError,
    check_name,
    check_relative,
    read_name,
)
from ..store.files import TEMP_SUFFIX
from .quarantine import CACHE, MANIFEST

Restore = dict[str, FileState | None]  # path -> what to make it, or None to remove it


def refusal(path, message: str) -> UndoRefusedError:
    """Undo refused, nothing changed: a refusal (exit 7), not damage of the WAL."""
    return UndoRefusedError(path, None, f"{message}; undo refused, nothing was changed", kind="undo_refused")


def checked_entries(run_dir: str | os.PathLike, manifest: dict) -> dict[str, dict]:
    """The manifest's files by path, once every path and blob name in it is plainly inside the root
    (or the run folder) and every field has its type; a refusal of the whole run otherwise."""
    where = Path(run_dir) / MANIFEST
    try:
        entries = {}
        for f in manifest["files"]:
            check_relative(f["path"])
            for key in ("before", "after"):
                if f[key] is not None and not isinstance(f[key], dict):
                    raise TypeError(f"{key} of {f['path']!r} is not an object")
            for run in f["recipe"] or []:
                if "blob" in run:
                    check_name(run["blob"])
                else:
                    check_relative(run["path"])
                    _check_count(run["offset"])
                _check_count(run["length"])
            entries[f["path"]] = f
        for r in manifest["removed"] + manifest.get("caches", []):
            check_name(r["blob"])
    except OutsideRootError as err:
        raise refusal(where, f"names a path outside the root: {err}") from None
    except (KeyError, TypeError, AttributeError) as err:
        raise refusal(where, f"malformed manifest ({type(err).__name__}: {err})") from None
    return entries


def _check_count(value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a byte count")


def _is(state: FileState | None, recorded: dict | None) -> bool:
    """``state`` (what is there now) is the file ``recorded`` describes (None: absent)."""
    return recorded is None if state is None else state.matches(recorded)


def _own_temp(path: str, state: FileState | None, entries: dict) -> bool:
    """``path`` is the temp file of a replacement the run was killed in: it holds the new content."""
    base = path[:-len(TEMP_SUFFIX)] if path.endswith(TEMP_SUFFIX) else None
    return state is not None and base in entries and _is(state, entries[base]["after"])


def _state(tree: ConfinedRoot, root: Path, path: str) -> FileState | None:
    try:
        return tree.state(path)
    except OutsideRootError as err:
        raise refusal(root / path, str(err)) from None


def plan_undo(tree: ConfinedRoot, run_dir: str | os.PathLike, manifest: dict) -> tuple[Restore, list[tuple[str, str]]]:
    """(what to put back, notes as (path, message)); refuses when anything changed since the run
    or leads outside the root."""
    root, run_dir = Path(tree.root), Path(run_dir)
    entries = checked_entries(run_dir, manifest)
    current = {path: _state(tree, root, path) for path in entries}
    notes, left = [], set()
    for path, f in entries.items():
        now = current[path]
        if _is(now, f["after"]) or _is(now, f["before"]) or _own_temp(path, now, entries):
            continue
        if f["change"] == CACHE:
            left.add(path)
            notes.append((path, "changed since the run (a cache): left as it is"))
            continue
        raise refusal(root / path, "changed since the recover run")
    blobs = {r["blob"]: r for r in manifest["removed"] + manifest.get("caches", [])}
    restore: Restore = {}
    for path, f in entries.items():  # temp files of replacements the run did not finish
        temp = path + TEMP_SUFFIX
        if f["after"] is not None and temp not in entries and _own_temp(temp, _state(tree, root, temp), entries):
            restore[temp] = None
    for path, f in entries.items():
        if path in left or f["before"] == f["after"] or _is(current[path], f["before"]):
            continue  # unchanged by the run, already put back, or a cache changed since
        before = f["before"]
        if before is None:
            restore[path] = None
        elif "link" in before:
            if not isinstance(before["link"], str) or not before["link"] or "\0" in before["link"]:
                raise refusal(run_dir / MANIFEST, f"malformed manifest (link target of {path!r})")
            restore[path] = FileState(SYMLINK, target=before["link"])
        else:
            content = _rebuild(root, run_dir, path, f, blobs, entries, current)
            mode = f.get("mode")
            restore[path] = FileState(FILE, mode=mode & 0o7777 if isinstance(mode, int) else None, data=content)
    return restore, notes


def _rebuild(root: Path, run_dir: Path, path: str, f: dict, blobs: dict, entries: dict, current: dict) -> bytes:
    """A file's bytes before the run, from its recipe, checked against the sha256 recorded then."""
    parts = []
    for run in f["recipe"] or []:
        if "blob" in run:
            data = read_name(run_dir, run["blob"])
            meta = blobs.get(run["blob"])
            if data is None or meta is None or hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise refusal(run_dir / run["blob"], "quarantined bytes missing or altered")
        else:
            src = run["path"]
            if src not in entries or not _is(current[src], entries[src]["after"]) or current[src].kind != FILE:
                raise refusal(root / src, "a file the undo copies from is no longer as the run left it")
            data = current[src].data[run["offset"]:run["offset"] + run["length"]]
        if len(data) != run["length"]:
            raise refusal(root / path, "recipe does not fit the saved bytes")
        parts.append(data)
    content = b"".join(parts)
    if not FileState(FILE, data=content).matches(f["before"]):
        raise refusal(root / path, "rebuilt content does not match the sha256 recorded before the run")
    return content


def apply_undo(tree: ConfinedRoot, restore: Restore) -> None:
    """Write restored files (temp-named ones last, so no replacement's temp clobbers them), then remove."""
    writes = sorted((p for p, s in restore.items() if s is not None), key=lambda p: (p.endswith(TEMP_SUFFIX), p))
    for path in writes:
        tree.put(path, restore[path])
    for path in sorted(p for p, s in restore.items() if s is None):
        tree.remove(path)
