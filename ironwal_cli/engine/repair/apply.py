"""Carrying out a saved repair plan: only after ``QuarantineRun.save`` has made its copies durable.

Every file is replaced through ``atomic_write`` (temp, fsync, rename, fsync of the directory);
a segment that only loses its tail (a torn tail: the usual repair) is replaced by a copy of its
prefix (``files.truncate_synced``), never cut in place: a reader with the segment memory-mapped
would die of SIGBUS, and a hard-linked segment would change under its other names. Changes go in phase order
(``repair_plan.PHASES``): stray temp files, new files, metadata, and last the segments that
shrink. A crash at any point leaves each file old or new, and every entry still on disk;
rerunning recover finishes the job.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..store.files import atomic_write, fsync_dir, truncate_synced
from .plan import DELETE, KEEP, Plan


def apply_plan(root: str | os.PathLike, plan: Plan) -> None:
    root = Path(root)
    for change in sorted(plan.changes, key=lambda c: c.phase):
        path = root / change.path
        if change.kind == KEEP:
            continue
        if change.kind == DELETE:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            fsync_dir(path.parent)
            continue
        prefix = plan.kept_prefix(change)
        if prefix is not None:
            truncate_synced(path, prefix)
        else:
            atomic_write(path, plan.content(change))
