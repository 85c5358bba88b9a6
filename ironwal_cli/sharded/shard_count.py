"""The shard count a sharded root shows, and the one ironwal remembers in ``<root>/ironwal-shards``.

The crate stores the count only in checkpoint records, so a root without a checkpoint shows
nothing of it, and a wrong ``--shards`` would route a key's values to another shard without any
error. ironwal therefore writes the count it routed with into ``ironwal-shards`` (ASCII digits
and a newline, replaced atomically) at the first routed write or checkpoint. It is a plain file
in the root: the crate reads only the subdirectories of a root (its streams), HEAD and
checkpoints.log, so its layout is untouched (``iwref dump-sharded`` opens and reads such a root:
tests/interop/test_crate_reads_remembered_shard_count.py). ``format/FORMAT.md``, "Sharded roots", documents it.

Evidence weighed, every piece of which must agree (else exit 2): the remembered count, the
counts the checkpoint records carry, and the shard directories (none may lie at or beyond it).
The routing of what is stored cannot be weighed: the crate stores values only, never keys.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..engine.store.files import atomic_write, read_file
from ..engine.store.names import COUNT_NAME
from ..errors import FormatError
from .routing import MAX_SHARDS


def count_path(root: str | os.PathLike) -> Path:
    return Path(root) / COUNT_NAME


def read_remembered(root: str | os.PathLike) -> int | None:
    """The count ``ironwal-shards`` holds; None without the file; FormatError when it holds anything
    but a count of 1..65535."""
    raw = read_file(count_path(root))
    if raw is None:
        return None
    text = raw[:16].strip()
    if len(raw) > 16 or not text.isdigit() or not 1 <= int(text) <= MAX_SHARDS:
        raise FormatError(count_path(root), 0, f"not a shard count (1..{MAX_SHARDS} in ASCII digits): {raw[:20]!r}; "
                          f"write the root's count into it (echo N > {count_path(root)}) or remove it",
                          kind="bad_shard_count_file")
    return int(text)


def remember(root: str | os.PathLike, count: int) -> None:
    """Write ``count`` into ``ironwal-shards`` unless it is there already (temp, fsync, rename,
    fsync of the root). The caller holds the root's lock and has checked the count."""
    if read_file(count_path(root)) != f"{count}\n".encode():
        atomic_write(count_path(root), f"{count}\n".encode())


def evident_count(remembered: int | None, record_counts: Iterable[int], highest_shard: int | None) -> int | None:
    """The count the root shows when some of its evidence is wrong (for recover): the remembered
    one, else the count most checkpoint records carry (``record_counts`` in file order); never 0,
    nor one that leaves a shard directory at or beyond it. None: nothing to go by."""
    if remembered is not None:
        return remembered
    counts = [c for c in record_counts if c >= 1 and (highest_shard is None or c > highest_shard)]
    if not counts:
        return None
    tally = Counter(counts)
    best = max(tally.values())
    return next(c for c in counts if tally[c] == best)  # a tie: the earliest record's (ShardedWal::new fixed it)
