"""Keeping only the entries a bytes regex finds (``tail --grep``, ``-v``), with their true ids.

The filter runs on what the checked reader delivers, so every frame passed over still has its
CRC checked: damage among entries that do not match stops the read exactly as without a
filter. A batch's kept entries are handed on as runs of consecutive ids, so every output
format (``jsonl`` names each id) still says which id each entry has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..errors import UsageError

Batch = tuple[int, list[bytes]]


def compile_pattern(pattern: str) -> re.Pattern[bytes]:
    """The ``--grep`` pattern as a bytes regex (the pattern's own non-ASCII characters as UTF-8)."""
    try:
        return re.compile(pattern.encode("utf-8", "surrogateescape"))
    except re.error as err:
        raise UsageError(f"--grep {pattern!r}: not a regular expression: {err}") from None


def filter_batches(batches: Iterable[Batch], pattern: re.Pattern[bytes], *, invert: bool = False,
                   count: int | None = None) -> Iterator[Batch]:
    """The entries of ``batches`` that ``pattern`` finds (or, ``invert``, does not); at most ``count``."""
    remaining = count
    if remaining == 0:
        return
    search = pattern.search
    for first, entries in batches:
        kept = [i for i, entry in enumerate(entries) if (search(entry) is None) is invert]
        start = 0
        while start < len(kept):
            end = start + 1
            while end < len(kept) and kept[end] == kept[end - 1] + 1:
                end += 1
            run = entries[kept[start]:kept[end - 1] + 1]
            if remaining is not None:
                run = run[:remaining]
                remaining -= len(run)
            yield first + kept[start], run
            if remaining == 0:
                return
            start = end
