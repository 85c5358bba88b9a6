"""The quarantine: every byte a repair removes, saved before the repair touches anything.

One folder per recover run, ``<quarantine>/<run>/``, holding one ``.bin`` file per removed
byte range and ``manifest.json``: for each range its source file, offset, length, sha256 and
reason; for each file the run changes, creates or deletes its size and sha256 before and
after, and a recipe that rebuilds it from quarantined and kept bytes (``recover --undo``).
The default quarantine is ``<root>.quarantine``, a sibling of the root: inside the root a
reader would take it for a stream.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..errors import UsageError
from .files import atomic_write, fsync_dir, fsync_fd, open_for_write, write_all
from .repair_plan import DELETE, KEEP, Plan, digest, sha256_in_steps, undo_recipes

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
QUARANTINE_SUFFIX = ".quarantine"


def default_quarantine(root: str | os.PathLike) -> Path:
    root = Path(root).resolve()
    return root.parent / (root.name + QUARANTINE_SUFFIX)


def check_outside(root: str | os.PathLike, quarantine: str | os.PathLike) -> Path:
    """The quarantine folder, refused when it lies inside the root (readers would see a stream)."""
    root_r, q = Path(root).resolve(), Path(quarantine).resolve()
    if q == root_r or root_r in q.parents:
        raise UsageError(f"quarantine {q} lies inside the WAL root {root_r}: choose a folder outside it")
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

    @property
    def name(self) -> str | None:
        return self.path.name if self.path else None

    def _open(self) -> Path:
        if self.path is None:
            if not self.base.is_dir():
                self.base.mkdir(parents=True, exist_ok=True)
                fsync_dir(self.base.parent)  # the quarantine folder itself must survive a power cut
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
            self.manifest["files"].append({
                "path": change.path, "change": change.kind, "what": change.what,
                "before": digest(before), "after": digest(after), "recipe": recipes.get(change.path)})
        self.write_manifest()

    def write_manifest(self, state: str | None = None) -> None:
        write_manifest(self._open(), self.manifest, state)


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
    if manifest.get("version") != MANIFEST_VERSION:
        raise UsageError(f"{path}: manifest version {manifest.get('version')!r}, expected {MANIFEST_VERSION}")
    return manifest
