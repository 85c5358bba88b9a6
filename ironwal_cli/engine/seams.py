"""TEST-ONLY seams, all in this one module: crash points, the sync hook, kill after the Nth sync.

Nothing here changes what the tool does unless a test sets it; production code only calls in.

Crash points. The crash tests (``tests/crash``) set ``IRONWAL_TEST_CRASH_AT=<point>`` or ``<point>@<n>`` (die
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

KILL_AFTER_SYNC_ENV = "IRONWAL_TEST_KILL_AFTER_SYNC"

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


# The sync hook: called with the descriptor after every fsync/fdatasync the tool makes (files and
# directories, ``store.files.fsync_fd``). Tests of power cuts record every sync through it
# (``monkeypatch.setattr(seams, "sync_hook", ...)``); None otherwise.
sync_hook: Callable[[int], object] | None = None


def synced(fd: int) -> None:
    """``fd`` was just synced: tell the sync hook, if a test set one."""
    if sync_hook is not None:
        sync_hook(fd)


def kill_after_syncs_from_env() -> None:
    """With ``IRONWAL_TEST_KILL_AFTER_SYNC=N`` (documented in man/ironwal-recover.1), SIGKILL this
    process right after its Nth sync from now on, so crash tests can stop a real recover at every
    durable step. Does nothing when the variable is unset."""
    global sync_hook
    limit = os.environ.get(KILL_AFTER_SYNC_ENV)
    if not limit:
        return
    count = 0

    def hook(fd: int) -> None:
        nonlocal count
        count += 1
        if count >= int(limit):
            os.kill(os.getpid(), signal.SIGKILL)

    sync_hook = hook
