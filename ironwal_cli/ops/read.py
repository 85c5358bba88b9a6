"""Reading entries from Python: ranges, the last N, one id, following new writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from ..engine.reader import StreamReader
from ..errors import FormatError, NotFoundError, UsageError

Batch = tuple[int, list[bytes]]


def open_stream(root: str | os.PathLike, stream: str, *, allow_gaps: bool = False,
                on_warning: Callable[[str], None] | None = None) -> StreamReader:
    return StreamReader(root, stream, allow_gaps=allow_gaps, on_warning=on_warning)


def read_batches(root: str | os.PathLike, stream: str, *, from_id: int | None = None,
                 last: int | None = None, count: int | None = None, follow: bool = False,
                 allow_gaps: bool = False, on_warning: Callable[[str], None] | None = None,
                 stop: Callable[[], bool] | None = None, poll: float = 0.1) -> Iterator[Batch]:
    """Batches of (first id, entries) of ``stream``, each CRC checked: from ``from_id`` on, else
    the ``last`` N, else (the default) every entry from the first; at most ``count`` entries.

    ``follow``: keep waiting for new entries (until ``stop()`` is true), as ``tail -f``. The CLI's
    ``tail`` shows the last 10 by default; the API's default is the whole stream, because a
    program that reads a log wants all of it unless it says otherwise. Damage raises FormatError
    after every intact entry before it was yielded; missing ids raise GapError (``allow_gaps``:
    told to ``on_warning`` instead).
    """
    if count is not None and count < 0:
        raise UsageError(f"--count {count}: must not be negative")
    if last is not None and last < 0:
        raise UsageError(f"-n {last}: must not be negative")
    reader = open_stream(root, stream, allow_gaps=allow_gaps, on_warning=on_warning)
    if from_id is None:
        from_id = reader.first_id if last is None else start_of_last(reader, last)
    remaining = count
    if remaining == 0:
        return
    for first, entries in reader.batches(from_id, follow=follow, stop=stop, poll=poll):
        if remaining is not None:
            if len(entries) >= remaining:
                yield first, entries[:remaining]
                return
            remaining -= len(entries)
        yield first, entries


def start_of_last(reader: StreamReader, n: int) -> int:
    """The id from which a read yields the last ``n`` entries a walk from the start yields.

    Without gaps that is ``next_id - n``. With ``allow_gaps`` missing ids are not entries, so
    the read starts further back: the ids read from ever larger distances (doubling, so the cost
    stays proportional to the distance finally read) until ``n`` entries are found. Without
    ``allow_gaps`` a gap in the last ``n`` ids raises as the read reaches it, so nothing is
    looked at twice.
    """
    first, nxt = reader.first_id, reader.next_id()
    start = max(first, nxt - n)
    if not reader.allow_gaps or n == 0:
        return start
    probe = StreamReader(reader.path.parent, reader.name, allow_gaps=True, name_is_dir=True)
    while True:
        runs = []
        try:
            for begin, entries in probe.batches(start):
                runs.append((begin, len(entries)))
        except FormatError:
            pass  # damage ends what there is to count; the read itself reports it
        held = sum(count for _begin, count in runs)
        if held >= n or start <= first:
            break
        start = max(first, nxt - 2 * (nxt - start))
    skip = max(held - n, 0)  # entries of the runs read that come before the last n
    for begin, count in runs:
        if skip < count:
            return begin + skip
        skip -= count
    return start


def get_entry(root: str | os.PathLike, stream: str, entry_id: int) -> bytes:
    """The entry with id ``entry_id``; NotFoundError when it does not exist or was pruned."""
    try:
        reader = open_stream(root, stream)
    except NotFoundError:
        raise
    return reader.get(entry_id)
