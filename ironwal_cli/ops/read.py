"""Reading entries from Python: ranges, the last N, one id, following new writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from ..engine.reader.reader import StreamReader
from ..errors import FormatError, NotFoundError, UsageError

Batch = tuple[int, list[bytes]]


def open_stream(root: str | os.PathLike, stream: str, *, allow_gaps: bool = False,
                on_warning: Callable[[str], None] | None = None) -> StreamReader:
    return StreamReader(root, stream, allow_gaps=allow_gaps, on_warning=on_warning)


FROM_END = "end"  # --from end: the next id, so only entries written from now on (with follow)


def read_batches(root: str | os.PathLike, stream: str, *, from_id: int | str | None = None,
                 last: int | None = None, count: int | None = None, follow: bool = False,
                 allow_gaps: bool = False, on_warning: Callable[[str], None] | None = None,
                 stop: Callable[[], bool] | None = None, poll: float = 0.1,
                 to_id: int | None = None) -> Iterator[Batch]:
    """Batches of (first id, entries) of ``stream``, each CRC checked, in the range ``from_id``..``to_id``
    (both inclusive; ``from_id`` an id, or ``"end"`` for the next id): the whole range, or its
    ``last`` N entries when ``last`` is given; at most ``count`` entries.

    The CLI's ``tail`` shows the last 10 by default; the API's default (no ``from_id``, no ``last``)
    is every entry from the first, because a program that reads a log wants all of it unless it
    says otherwise. ``follow``: keep waiting for new entries (until ``stop()`` is true, or ``to_id``
    is read), as ``tail -f``. Damage raises FormatError after every intact entry before it was
    yielded; missing ids raise GapError (``allow_gaps``: told to ``on_warning`` instead).
    """
    if count is not None and count < 0:
        raise UsageError(f"--count {count}: must not be negative")
    if last is not None and last < 0:
        raise UsageError(f"-n {last}: must not be negative")
    if isinstance(from_id, int) and to_id is not None and from_id > to_id:
        raise UsageError(f"--from {from_id} is after --to {to_id}: the range is empty")
    reader = open_stream(root, stream, allow_gaps=allow_gaps, on_warning=on_warning)
    end = None if to_id is None else to_id + 1  # one past the range
    if from_id == FROM_END:
        from_id = reader.next_id()
    elif isinstance(from_id, str):
        raise UsageError(f"--from {from_id!r}: an id or 'end'")
    if last is not None:
        start = start_of_last(reader, last, end)
        from_id = start if from_id is None else max(from_id, start)
    elif from_id is None:
        from_id = reader.first_id
    remaining = count
    if remaining == 0 or (end is not None and from_id >= end):
        return
    for first, entries in reader.batches(from_id, follow=follow, stop=stop, poll=poll):
        if end is not None and first + len(entries) >= end:
            entries = entries[:max(end - first, 0)]
        if remaining is not None and len(entries) >= remaining:
            yield first, entries[:remaining]
            return
        if entries:
            if remaining is not None:
                remaining -= len(entries)
            yield first, entries
        if end is not None and first + len(entries) >= end:
            return


def start_of_last(reader: StreamReader, n: int, end: int | None = None) -> int:
    """The id from which a read yields the last ``n`` entries (below ``end``) a walk from the start yields.

    Without gaps that is ``next_id - n``. With ``allow_gaps`` missing ids are not entries, so
    the read starts further back: the ids read from ever larger distances (doubling, so the cost
    stays proportional to the distance finally read) until ``n`` entries are found. Without
    ``allow_gaps`` a gap in the last ``n`` ids raises as the read reaches it, so nothing is
    looked at twice.
    """
    first, nxt = reader.first_id, reader.next_id()
    if end is not None:
        nxt = min(nxt, end)
    start = max(first, nxt - n)
    if not reader.allow_gaps or n == 0:
        return start
    probe = StreamReader(reader.path.parent, reader.name, allow_gaps=True, name_is_dir=True)
    while True:
        runs = []
        try:
            for begin, entries in probe.batches(start):
                if begin >= nxt:
                    break
                runs.append((begin, min(len(entries), nxt - begin)))
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
