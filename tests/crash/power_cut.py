"""A model of what a power cut leaves on disk, driven by the writer's own fsync calls.

``engine.seams.sync_hook`` sees every fsync/fdatasync (files and directories). The model
records, at each one, how many bytes of that file (by inode) are durable, the content of
small files, and which names each synced directory held. ``cut()`` then turns the real
directory tree into one a power cut could leave behind:
  - a name created or renamed in a directory that was not synced since is dropped (or, by
    chance, kept: a file system may persist it anyway); a rename that was not made durable
    reverts to the old file's synced content;
  - the unsynced suffix of every file is truncated, zeroed, partly kept, or kept whole.
``cut_at_sync=k`` makes the k-th sync fail (PowerCut) as if the power went before it
completed, so cuts also land inside an append and inside a rotation.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
from pathlib import Path

from ironwal_cli.engine import seams

SMALL = 64 * 1024  # files up to this size have their synced content remembered (index, head.state)


class PowerCut(BaseException):
    """The power failed: raised through the writer, which must not catch it."""


class DiskModel:
    def __init__(self, top: Path, rng: random.Random, cut_at_sync: int | None = None):
        self.top = Path(top)
        self.rng = rng
        self.cut_at = cut_at_sync
        self.syncs = 0
        self.synced_size: dict[int, int] = {}
        self.synced_content: dict[int, bytes] = {}
        self.dir_names: dict[str, dict[str, int]] = {}
        for dirpath, _, filenames in os.walk(self.top):  # what exists before the test is durable
            self._record_dir(dirpath)
            for name in filenames:
                st = os.lstat(os.path.join(dirpath, name))
                self.synced_size[st.st_ino] = st.st_size

    # ----- recording ------------------------------------------------------------------------

    def __enter__(self) -> DiskModel:
        # The model, not the disk, decides what is durable: skip the real (slow) syncs meanwhile.
        self._real = os.fsync, os.fdatasync
        os.fsync = os.fdatasync = _no_sync
        seams.sync_hook = self.hook
        return self

    def __exit__(self, *exc) -> None:
        seams.sync_hook = None
        os.fsync, os.fdatasync = self._real

    def hook(self, fd: int) -> None:
        self.syncs += 1
        if self.syncs == self.cut_at:
            raise PowerCut(f"power cut at sync {self.syncs}")
        path = os.readlink(f"/proc/self/fd/{fd}")
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            self._record_dir(path)
            return
        self.synced_size[st.st_ino] = st.st_size
        if st.st_size <= SMALL:
            with open(path, "rb") as f:
                self.synced_content[st.st_ino] = f.read()

    def _record_dir(self, path: str) -> None:
        self.dir_names[os.path.realpath(path)] = {e.name: e.inode() for e in os.scandir(path)}

    def durable_prefix(self, path: Path) -> int:
        return self.synced_size.get(os.lstat(path).st_ino, 0)

    # ----- the cut --------------------------------------------------------------------------

    def cut(self) -> list[str]:
        """Apply the power cut to the tree under ``top``; returns what was done (for messages)."""
        seams.sync_hook = None
        log: list[str] = []
        self._cut_dir(self.top, log)
        return log

    def _cut_dir(self, path: Path, log: list[str]) -> None:
        record = self.dir_names.get(os.path.realpath(path), {})
        for entry in list(os.scandir(path)):
            child = Path(entry.path)
            ino = entry.inode()
            if record.get(entry.name) != ino:
                old = record.get(entry.name)
                if old is not None and old in self.synced_content:
                    _replace(child, self.synced_content[old])
                    log.append(f"{child}: rename not durable, old content back")
                    continue
                if old is None and self.rng.random() < 0.7:
                    shutil.rmtree(child) if entry.is_dir(follow_symlinks=False) else child.unlink()
                    log.append(f"{child}: name not durable, gone")
                    continue
            if entry.is_dir(follow_symlinks=False):
                self._cut_dir(child, log)
            else:
                self._cut_file(child, ino, log)

    def _cut_file(self, path: Path, ino: int, log: list[str]) -> None:
        size = path.stat().st_size
        durable = min(self.synced_size.get(ino, 0), size)
        if durable == size:
            return
        how = self.rng.choice(["truncate", "zero", "partial", "keep"])
        keep = durable + (self.rng.randrange(size - durable) if how == "partial" else 0)
        if how == "keep":
            return
        with open(path, "r+b") as f:
            if how == "zero":
                f.seek(durable)
                f.write(b"\0" * (size - durable))
            else:
                f.truncate(keep)
        log.append(f"{path}: unsynced {size - durable} bytes after {durable}: {how}")


def _no_sync(fd: int) -> None:
    os.fstat(fd)  # still fails on a bad descriptor, as a real sync would


def _replace(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)
