"""Input read in a second thread while the caller writes: the bulk append's two halves overlap.

Otherwise reading stdin and cutting it into raw batches (``entry_input``) and writing frames
(``writev``, an ``fdatasync`` per batch in strict mode or at a rotation) take turns, and each
waits for the other's syscalls. Here the groups of batches are produced in a daemon thread while
the caller writes the one before. Groups that arrive while the caller is busy join into one (up
to ``limit`` bytes waiting): one lock of the stream, and in batch mode one fdatasync, for all of
them, so a writer that falls behind catches up. A group is handed over as soon as the caller
asks, whatever the input does next, so nothing waits longer to be acknowledged. Memory stays
bounded by ``limit`` and the input options, never by the input. Only the caller's thread
touches the stream, so the writer and what an id means are unchanged.

A consumer that stops early (an error, a closed generator) leaves the thread to end at its next
group: it may read one more group of input, which nothing writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

LIMIT = 4 << 20  # bytes of batches waiting at most, beyond one group (batch mode: up to GROUP_BYTES)


def read_ahead(groups: Iterator[list], weight: Callable[[list], int] = len, limit: int = LIMIT) -> Iterator[list]:
    """The batches of ``groups``, in order, produced in a thread: each item is every group that
    has arrived since the last (at least one; more only while their ``weight`` stays within
    ``limit``). An exception raised by ``groups`` is raised here, after the batches before it."""
    cond = threading.Condition()
    waiting: list = []
    state = {"weight": 0, "ended": False, "error": None, "stopped": False}

    def produce() -> None:
        try:
            for group in groups:
                size = weight(group)
                with cond:
                    while waiting and state["weight"] + size > limit and not state["stopped"]:
                        cond.wait()
                    if state["stopped"]:
                        return
                    waiting.extend(group)
                    state["weight"] += size
                    cond.notify_all()
        except BaseException as err:  # the consumer raises it, where the caller sees it
            state["error"] = err
        with cond:
            state["ended"] = True
            cond.notify_all()

    thread = threading.Thread(target=produce, name="ironwal-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            with cond:
                while not waiting and not state["ended"]:
                    cond.wait()
                taken = waiting[:]
                waiting.clear()
                state["weight"] = 0
                cond.notify_all()
                ended = state["ended"]
            if taken:
                yield taken
            elif ended:
                thread.join()
                if state["error"] is not None:
                    raise state["error"]
                return
    finally:
        with cond:
            state["stopped"] = True
            cond.notify_all()
