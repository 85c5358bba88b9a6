"""The quarantine: every byte a repair removes, saved before the repair touches anything.

One folder per recover run, ``<quarantine>/<run>/``, holding one ``.bin`` file per removed
byte range and ``manifest.json``: for each range its source file, offset, length, sha256 and
reason; for each file the run changes, creates or deletes what it was before (a regular
file's mode, size and sha256, or a symbolic link's target) and after, and a recipe that
rebuilds it from quarantined and kept bytes (``recover --undo``). ``seals.idx`` files the run
changed are recorded too (``change: cache``), so that an undo leaves the root exactly as it
was. The default quarantine is ``<root>.quarantine``, a sibling of the root: inside the root
a reader would take it for a stream.

The manifest carries the sha256 of its own content (``sha256``: of the canonical JSON of
every other field), written in the same atomic replacement, so that an edited manifest is
refused by undo and no crash can leave a manifest and its digest out of step.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path

from ...errors import UndoRefusedError, UsageError
from ...fdio import write_all
from ..store.confined import FILE, FileState
from ..store.files import append_synced, atomic_write, fsync_dir, fsync_fd, make_dirs, open_for_write
from .plan import DELETE, KEEP, Plan, digest, sha256_in_steps, undo_recipes

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2  # 2: file kinds and modes, caches, and the manifest's own sha256
CACHE = "cache"  # a file change of ours that undo puts back when it can, and never refuses over
QUARANTINE_SUFFIX = ".quarantine"


def default_quarantine(root: str | os.PathLike) -> Path:
    """``<root>.quarantine`` beside the root, the root's symbolic links resolved: the one rule for
    where recover's runs and the checkpoint archive go by default."""
    root = Path(root).resolve()
    return root.parent / (root.name + QUARANTINE_SUFFIX)


def check_outside(root: str | os.PathLike, quarantine: str | os.PathLike) -> Path:
    """The quarantine folder, refused when it lies inside the root (readers would see a stream).

    An empty path is refused too: ``Path("")`` is the current directory, where a run folder
    would land unasked (``--quarantine ""`` from an unset shell variable).
    """
    if not os.fspath(quarantine):
        raise UsageError("quarantine: an empty path; name a folder outside the WAL root")
    root_r, q = Path(root).resolve(), Path(quarantine).resolve()
    if q == root_r or root_r in q.parents:
        raise UsageError(f"quarantine {q} lies inside the WAL root {root_r}: choose a folder outside it")
    existing = next((p for p in (q, *q.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"quarantine {q}: {existing} is not a directory")
    return q


def _blob_name(index: int, source: str, offset: int) -> str:
    return f"{index:04d}_{source.replace('/', '_')}_{offset}.bin"


class QuarantineRun:
    """One run folder: created when the first repair needs it, never inside the root."""

    def __init__(self, root: str | os.PathLike, quarantine: str | os.PathLike | None = None):
        self.root = Path(root).resolve()
        self.base = check_outside(root, quarantine if quarantine is not None else default_quarantine(root))
        self.path: Path | None = None
        self.manifest = {"version": MANIFEST_VERSION, "root": str(self.root), "state": "applying",
                         "started": _now(), "removed": [], "files": []}
        self._count = 0
        self._caches: dict[str, tuple[FileState | None, FileState | None]] = {}  # path -> (before, after)

    @property
    def name(self) -> str | None:
        return self.path.name if self.path else None

    def _open(self) -> Path:
        if self.path is None:
            make_dirs(self.base)  # the quarantine folder itself must survive a power cut
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            for n in range(1000):
                candidate = self.base / (f"{stamp}" if n == 0 else f"{stamp}-{n}")
                try:
                    candidate.mkdir()
                except FileExistsError:
                    continue
                self.path = candidate
                break
            else:
                raise UsageError(f"{self.base}: cannot make a new run folder")
            fsync_dir(self.base)
            self.manifest["run"] = self.path.name
        return self.path

    def save(self, plan: Plan) -> None:
        """Copy the plan's removed bytes into the run folder and record it all in the manifest, durably.

        The undo recipes are made first: a plan that would lose a byte is refused before anything is written.
        """
        names = [_blob_name(self._count + i + 1, r.source, r.offset) for i, r in enumerate(plan.removals)]
        recipes = undo_recipes(plan, names)
        run = self._open()
        for removal, name in zip(plan.removals, names, strict=True):
            sha = _copy_synced(run / name, *plan.removed_range(removal))  # a new name in a new folder
            self.manifest["removed"].append({
                "blob": name, "source": removal.source, "offset": removal.offset, "length": removal.length,
                "sha256": sha, "reason": removal.reason})
        self._count += len(names)
        fsync_dir(run)
        for change in plan.changes:
            before = plan.originals.get(change.path)
            after = before if change.kind == KEEP else None if change.kind == DELETE else plan.content(change)
            before_record, mode = _found(self.root / change.path, before)
            self.manifest["files"].append({
                "path": change.path, "change": change.kind, "what": change.what, "before": before_record,
                "after": before_record if change.kind == KEEP else digest(after), "recipe": recipes.get(change.path),
                **({"mode": mode} if mode is not None else {})})
        self.write_manifest()

    def note_cache(self, path: str, before: FileState | None, after: FileState | None) -> None:
        """A cache file of ours (``seals.idx``) the run changed; recorded with the run's last manifest."""
        first = self._caches.get(path, (before, None))[0]
        self._caches[path] = (first, after)

    def write_manifest(self, state: str | None = None) -> None:
        if state is not None and self.path is not None:
            self._save_caches()
        write_manifest(self._open(), self.manifest, state)

    def _save_caches(self) -> None:
        """Copy each changed cache file's old content to the run folder and list it (once, at the end)."""
        files = self.manifest["files"]
        for path, (before, after) in sorted(self._caches.items()):
            if before == after:
                continue
            recipe = None
            if before is not None and before.kind == FILE:
                self._count += 1
                name = _blob_name(self._count, path, 0)
                append_synced(self.path / name, before.data)
                self.manifest.setdefault("caches", []).append({  # not "removed": the repair removed nothing
                    "blob": name, "source": path, "length": len(before.data),
                    "sha256": hashlib.sha256(before.data).hexdigest()})
                recipe = [{"blob": name, "length": len(before.data)}]
            files.append({"path": path, "change": CACHE, "what": f"{os.path.basename(path)} (a cache) as before",
                          "before": before.record() if before else None,
                          "after": after.record() if after else None, "recipe": recipe,
                          **({"mode": before.mode} if before is not None and before.kind == FILE else {})})
        if self._caches:
            fsync_dir(self.path)
        self._caches.clear()


def _found(path: Path, data) -> tuple[dict | None, int | None]:
    """(what a file the run is about to change is, its mode): a link's record names its target."""
    if data is None:
        return None, None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return {**digest(data), "link": os.readlink(path)}, None
    return digest(data), stat.S_IMODE(st.st_mode)


def manifest_digest(manifest: dict) -> str:
    """The sha256 of every field but ``sha256`` itself, in canonical JSON (key order and spacing do not count)."""
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _copy_synced(path: Path, data, start: int, stop: int) -> str:
    """Write ``data[start:stop]`` to the new file ``path`` a few MiB at a time (fsync'd), return its
    sha256: bytes removed from a 1 GiB planted segment are copied without ever being held whole."""
    fd = open_for_write(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        h = sha256_in_steps(data, start, stop, lambda piece: write_all(fd, piece))
        fsync_fd(fd)
    finally:
        os.close(fd)
    return h.hexdigest()


def write_manifest(run_dir: Path, manifest: dict, state: str | None = None) -> None:
    """Replace the run's manifest durably, recording ``state`` (applying, complete, undone) if given."""
    if state is not None:
        manifest["state"] = state
        manifest[f"{state}_at"] = _now()
    manifest["sha256"] = manifest_digest(manifest)
    atomic_write(Path(run_dir) / MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_manifest(run_dir: str | os.PathLike) -> dict:
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{run_dir}: not a quarantine run folder (no {MANIFEST})") from None
    except ValueError as err:
        raise UsageError(f"{path}: unreadable manifest: {err}") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{path}: unreadable manifest: not a JSON object")
    if manifest.get("version") != MANIFEST_VERSION:
        raise UsageError(f"{path}: manifest version {manifest.get('version')!r}, expected {MANIFEST_VERSION}")
    if manifest.get("sha256") != manifest_digest(manifest):
        raise UndoRefusedError(path, None, "edited since recover wrote it (its sha256 field does not match its "
                               "content); undo refused, nothing was changed", kind="undo_refused")
    return manifest
