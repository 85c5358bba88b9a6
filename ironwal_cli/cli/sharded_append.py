"""``ironwal append --key KEY`` / ``-K SEP``: routed appends to a sharded root (called by ``append``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import UsageError


def _refuse(message: str) -> UsageError:
    """A conflict of arguments, worded as click words a value refused inside a command (the typer
    path printed these as ``typer.BadParameter``); a UsageError so the quick start, which never
    imports typer, says the same line with the same exit code."""
    return UsageError(f"Invalid value: {message}")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def run(root: Path, stream: str | None, values: list[str] | None, *, key: str | None, key_sep: str | None,
        shards: int | None, mode: str, batch: int, linger: float, options, quiet: bool, json_out: bool) -> None:
    """Dispatch a routed append and print ``SHARD ID`` per entry (or JSON objects with ``shard``)."""
    from ..ops.sharded_append import append_keyed, append_keyed_from, append_routed_from
    from .exits import warn

    args = ([stream] if stream is not None else []) + list(values or [])
    if key is not None and key_sep is not None:
        raise _refuse("choose one of --key and -K/--key-separator")
    if args and mode != "lines":
        raise _refuse("-0/--null and --whole read stdin; they take no VALUE arguments")
    if key_sep is not None:
        if args:
            raise _refuse("-K reads KEY<SEP>VALUE records from stdin; it takes no STREAM or VALUE")
        groups = append_routed_from(root, sys.stdin.fileno(), _encode(key_sep), shards=shards, mode=mode,
                                    batch_size=batch, linger=linger, options=options, on_warning=warn,
                                    placements=not quiet)
        _report(groups, quiet, json_out)
        return
    if args:  # with --key there is no STREAM: every argument is a value
        shard, ids = append_keyed(root, _encode(key), [_encode(v) for v in args], shards=shards, options=options,
                                 on_warning=warn)
        _report([[(shard, i) for i in ids]], quiet, json_out)
        return
    shard, ranges = append_keyed_from(root, _encode(key), sys.stdin.fileno(), shards=shards, mode=mode,
                                      batch_size=batch, linger=linger, options=options, on_warning=warn)
    _report(([(shard, i) for i in ids] for ids in ranges), quiet, json_out)


def _report(groups: Iterable[list[tuple[int, int]]] | Iterable[int], quiet: bool, json_out: bool) -> None:
    """``SHARD ID`` lines as each group becomes durable; with --json one object per shard at the end."""
    from ..sharded.routing import shard_name

    out = sys.stdout
    if quiet:  # nothing to print: only drive the appends
        for _placed in groups:
            pass
        return
    totals: dict[int, dict] = {}
    for placed in groups:
        if not json_out:
            if placed:
                out.write("".join(f"{s} {i}\n" for s, i in placed))
                out.flush()
            continue
        for s, i in placed:
            t = totals.get(s)
            if t is None:
                t = totals[s] = {"shard": s, "stream": shard_name(s), "first": i, "count": 0, "next": i}
            t["count"] += 1
            if i >= t["next"]:
                t["next"] = i + 1
    if json_out:
        for s in sorted(totals):
            out.write(json.dumps(totals[s]) + "\n")
        out.flush()
