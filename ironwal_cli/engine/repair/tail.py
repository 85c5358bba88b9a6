"""The writer's own repair: a torn final frame (an unacknowledged partial write) is moved to
quarantine before the next append, exactly as ``recover`` would do it (same manifest, undoable).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..frames.scan import map_file
from .apply import apply_plan
from .plan import SHRINK, FileChange, Piece, Plan, Removal
from .quarantine import QuarantineRun

REASON = "torn tail before append"


def cut_torn_tail(root: str | os.PathLike, stream: str, segment: Path, offset: int, message: str) -> Path:
    """Quarantine ``segment`` from ``offset`` to its end, then cut it there; returns the run folder."""
    data = bytes(map_file(segment))
    rel = f"{stream}/{segment.name}"
    plan = Plan(originals={rel: data},
                removals=[Removal(rel, offset, len(data) - offset, f"{REASON}: {message}")],
                changes=[FileChange(rel, SHRINK, [Piece(rel, 0, offset)], f"{REASON}: cut at offset {offset}")])
    run = QuarantineRun(root)
    run.save(plan)
    apply_plan(root, plan)
    run.write_manifest("complete")
    return run.path
