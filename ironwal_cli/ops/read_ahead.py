"""Input read in a second thread while the caller writes: the bulk append's two halves overlap.

Otherwise reading stdin and cutting it into raw batches (``entry_input``) and writing frames
(``writev``, an ``fdatasync`` per batch in strict mode or at a rotation) take turns, and each
waits for the other's syscalls. Here the groups are produced in a daemon thread, at most
``depth`` ahead of the one being written, so memory stays bounded by the input options (group
size times ``depth + 2``), never by the input. Groups come out in order, each as soon as it is
read: a group that was written is acknowledged at once, whatever the input does next. Only the
caller's thread touches the stream, so the writer and what an id means are unchanged.

A consumer that stops early (an error, a closed generator) leaves the thread to end at its next
group: it may read one more group of input, which nothing writes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

DEPTH = 1  # groups read ahead and waiting: one is enough to keep both sides busy


def read_ahead(groups: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """The items of ``groups``, produced in a thread up to ``depth`` ahead of the consumer; an
    exception raised by ``groups`` is raised here, in order, after the items before it."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for item in groups:
                if stopped.is_set():
                    return
                ready.put((True, item))
        except BaseException as err:  # the consumer raises it, where the caller sees it
            ready.put((False, err))
            return
        ready.put((False, None))

    thread = threading.Thread(target=produce, name="ironwal-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, item = ready.get()
            if not more:
                thread.join()
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stopped.set()
        while True:  # a producer waiting for room gets it, sees the flag and ends
            try:
                ready.get_nowait()
            except queue.Empty:
                break
