"""Refusing to change a sharded root behind a running ``ShardedWal`` (how: ``engine/store/foreign_writers``).

A ``ShardedWal`` keeps ``checkpoints.log`` open for writing for as long as it lives, even when
it writes nothing, so a read lease on the log sees a running sharded application at once; its
shards are plain streams and are checked as such by each writer, prune and recover.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..engine.store.foreign_writers import refuse_foreign_writers, refuse_index_holders
from ..engine.store.locks import locked_dir
from ..engine.store.names import INDEX_NAME
from .checkpoints import log_path
from .shards import existing_shards


def refuse_log_writer(root: str | os.PathLike, action: str) -> None:
    """Refuse while a process that is not ironwal holds ``checkpoints.log`` open for writing.
    The caller holds the root's lock (every ironwal writer of the log holds it)."""
    refuse_foreign_writers([log_path(root)], action)


def refuse_foreign_sharded(root: str | os.PathLike, action: str, lock_timeout: float, *,
                           indexes: bool = True) -> None:
    """``refuse_log_writer`` under the root's lock, and (``indexes``) a look for processes holding
    a shard's ``segments.idx`` open (a walk of /proc: for commands run now and then, not appends)."""
    root = Path(root)
    if indexes:
        refuse_index_holders([root / name / INDEX_NAME for name in existing_shards(root).values()], action)
    if log_path(root).exists():
        with locked_dir(root, lock_timeout):
            refuse_log_writer(root, action)
