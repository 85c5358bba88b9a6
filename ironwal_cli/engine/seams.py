"""TEST-ONLY crash points: make the process SIGKILL itself at a chosen step of a write.

The crash tests (``tests/crash``) set ``IRONWAL_TEST_CRASH_AT=<point>`` or ``<point>@<n>`` (die
the n-th time the point is reached) to stop a real ``ironwal append`` at a moment a random
kill rarely hits. Never set it outside tests. The variable is read once at import; when it
is unset ``ARMED`` is False and the writers skip every call here (one boolean test per write).

Points: ``frame-header`` (a frame's header written, not its payload), ``frame-half`` (header
and half the payload), ``before-sync`` (a frame written, not yet fdatasync'd),
``rotate-before-seal`` (the segment left behind synced, its seal not yet in ``seals.idx``),
``rotate-before-index`` (new segment created, ``segments.idx`` not yet extended),
``rotate-before-head`` (``segments.idx`` extended, ``head.state`` not yet rewritten),
``atomic-before-rename`` (a replacement's temp file synced, not yet renamed).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

_SPEC = os.environ.get("IRONWAL_TEST_CRASH_AT") or ""
_POINT, _, _NTH = _SPEC.partition("@")
_NTH_HIT = int(_NTH) if _NTH.isdigit() else 1
ARMED = bool(_POINT)
_hits = 0


def reached(point: str, before: Callable[[], object] | None = None) -> None:
    """At the armed point's n-th visit, run ``before`` (a partial write), then SIGKILL this process."""
    global _hits
    if point != _POINT:
        return
    _hits += 1
    if _hits < _NTH_HIT:
        return
    if before is not None:
        before()
    os.kill(os.getpid(), signal.SIGKILL)
