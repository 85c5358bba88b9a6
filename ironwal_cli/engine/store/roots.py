"""Is this directory an IronWal root, or a stream of one? The rule that keeps ironwal out of
folders that are not write-ahead logs.

The crate treats every subdirectory of its root as a stream, so ``tail -r /etc apt`` would
read an empty stream and ``append -r . man x`` would put a segment among man pages. ironwal
reads and writes every root the crate makes, and refuses the rest:

- a *stream directory* is empty (the crate makes a stream of a directory created by hand,
  case ``empty-stream``) or holds at least one stream file: a segment ``NNNN...N.wal``,
  ``segments.idx``, ``head.state``, ``lost.idx``, ``seals.idx``, or one of their ``.tmp``
  files (a write cut short);
- a *WAL root* is empty, or holds ``checkpoints.log``, ``HEAD`` or ``ironwal-shards``, or a subdirectory holding
  a stream file, or nothing but empty directories.

Reading a directory that is neither is "not found" (exit 6): it holds no IronWal data;
writing a new stream into a non-empty root that is not a WAL root, or into a stream directory
holding only other files, is refused (exit 7). Documented in README ("Wrong roots") and
ironwal(1).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ...errors import NotFoundError, RefusedError, StorageError, UsageError
from .files import TEMP_SUFFIX
from .lost_ids import LOST_NAME
from .names import (
    COUNT_NAME,
    HEAD_NAME,
    HEAD_STATE_NAME,
    INDEX_NAME,
    LOG_NAME,
    name_overflows,
    parse_segment_name,
    sanitize_key,
)
from .seals import SEALS_NAME

STREAM_FILES = frozenset({INDEX_NAME, HEAD_STATE_NAME, LOST_NAME, SEALS_NAME})
ROOT_FILES = frozenset({LOG_NAME, HEAD_NAME, COUNT_NAME})


def is_stream_file(name: str) -> bool:
    """A file ironwal or the crate keeps in a stream directory (or the temp file of one)."""
    if name.endswith(TEMP_SUFFIX):
        name = name[: -len(TEMP_SUFFIX)]
    return name in STREAM_FILES or parse_segment_name(name) is not None or name_overflows(name)


def is_foreign_stream(names: Iterable[str]) -> bool:
    """Whether a directory holding ``names`` is not a stream: it holds something, none of it ours."""
    names = list(names)
    return bool(names) and not any(map(is_stream_file, names))


def stream_path(root: str | os.PathLike, key: str, *, name_is_dir: bool = False) -> Path:
    """The directory of stream ``key`` under ``root``: its name as the crate sanitizes the key (with
    ``name_is_dir``, ``key`` is that name already). The one rule for symbolic links, the same for
    every command, reading or writing: a stream directory is never one (verify reports a link in a
    root as an unexpected file), so a link there is refused (UsageError), never followed."""
    path = Path(root) / (key if name_is_dir else sanitize_key(key))
    if path.is_symlink():
        raise UsageError(f"{path}: the stream directory is a symbolic link; refusing to follow it")
    return path


def require_root(root: str | os.PathLike) -> Path:
    """``root`` as a Path, after checking that it is a directory: NotFoundError when it does not
    exist, StorageError (exit 5, as the OS would say) when it is a file or cannot be read."""
    path = Path(root)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such WAL root") from None
    except OSError as err:
        raise StorageError.from_oserror(err) from None
    if not stat.S_ISDIR(mode):
        raise StorageError(f"{path}: not a directory (a WAL root is a directory)")
    return path


def foreign_root_reason(root: str | os.PathLike) -> str | None:
    """None when ``root`` is a WAL root (see the module docstring), else what it holds instead."""
    files = dirs = foreign_dirs = 0
    try:
        entries = list(os.scandir(root))
    except OSError as err:
        raise StorageError.from_oserror(err) from None
    for entry in entries:
        if entry.name in ROOT_FILES:
            return None
        if not entry.is_dir(follow_symlinks=False):
            files += 1
            continue
        dirs += 1
        try:
            inside = os.listdir(entry.path)
        except OSError:
            continue  # unreadable: the readers of that stream, and verify, say so
        if not is_foreign_stream(inside):
            if inside:
                return None
            continue  # empty: a stream made by hand, neither ours nor foreign
        foreign_dirs += 1
    if files == 0 and foreign_dirs == 0:
        return None  # empty, or nothing but empty directories
    return (f"it holds {_count(files, 'file')} and {_count(dirs, 'directory', 'directories')}, none of them "
            "an IronWal stream (a stream directory holds NNNNNNNNNNNNNNNNNNNN.wal segments or segments.idx)")


def require_wal_root(root: str | os.PathLike) -> Path:
    """``root`` after checking it is a directory and a WAL root: what every reading command asks."""
    path = require_root(root)
    reason = foreign_root_reason(path)
    if reason is not None:
        raise NotFoundError(f"{path}: not an IronWal root: {reason}")
    return path


def refuse_foreign_root(root: str | os.PathLike) -> None:
    """Before a new stream directory is made in an existing ``root``: refuse a root of other files."""
    reason = foreign_root_reason(root)
    if reason is not None:
        raise RefusedError(f"{root}: not an IronWal root: {reason}; refusing to create a stream in it "
                           "(choose an empty or new directory with -r/--root)")


def foreign_stream_message(path: str | os.PathLike) -> str:
    return (f"{os.fspath(path)}: not an IronWal stream: it holds files, none of them a segment "
            "(NNNNNNNNNNNNNNNNNNNN.wal) or segments.idx")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
