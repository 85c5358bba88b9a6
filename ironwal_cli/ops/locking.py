"""Waiting for another ironwal writer's lock, as a front end sees it: the default timeout every
``lock_timeout`` argument has, the check of a timeout given by a user, and who is told (once per
wait, after a second) that a command is waiting. The lock itself: ``engine/store/locks.py``."""

from __future__ import annotations

from collections.abc import Callable

from ..engine.store import locks
from ..engine.store.locks import DEFAULT_LOCK_TIMEOUT, check_timeout

__all__ = ["DEFAULT_LOCK_TIMEOUT", "check_timeout", "tell_lock_waits"]


def tell_lock_waits(note: Callable[[str], None] | None) -> None:
    """From now on, ``note(line)`` is called when a wait for a lock has lasted a second (the CLI
    prints the line on stderr, so a command blocked behind another writer does not look hung)."""
    locks.on_wait = note
