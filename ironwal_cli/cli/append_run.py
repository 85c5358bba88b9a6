"""What ``ironwal append`` does once its command line is read, without typer.

The declared command (``append.py``, through typer) and the quick start of a plain append
(``quick_append.py``, which never imports typer) both call ``run_append``, so the two ways in
cannot differ in what they do, only in how long Python takes to get there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .exits import warn
from .params import refuse_quiet_json, write_options


def run_append(stream: str | None, values: list[str] | None, *, root: Path, input_format: str | None, null: bool,
               whole: bool, expect_ids: bool, batch: int, linger: int, sync: str, compress: bool,
               min_compress_size: str, max_segment_size: str, max_entries_per_segment: str, lock_timeout: float,
               hold_lock: bool, quiet: bool, json_out: bool, key: str | None, key_sep: str | None,
               shards: int | None, force: bool) -> None:
    """``ironwal append`` with its parameters as typer hands them over (enums as their values)."""
    from ..errors import UsageError
    from ..ops.append import append_from, append_values

    refuse_quiet_json(quiet, json_out)
    mode = _input_mode(input_format, null, whole)
    if values and mode != "lines":
        raise UsageError("-0/--null, --whole and --input-format read stdin; they take no VALUE arguments")
    if expect_ids and mode != "jsonl":
        raise UsageError("--expect-ids needs --input-format jsonl (the only input that names ids)")
    routed = key is not None or key_sep is not None
    if routed and expect_ids:
        raise UsageError("--expect-ids is for one stream: a routed append (--key, -K) spreads ids over shards")
    stream, values = _stdin_dash(stream, values, routed)
    if not routed and stream is None:
        raise UsageError("missing STREAM (or give --key KEY / -K SEP to append to a sharded root)")
    options = write_options(max_segment_size=max_segment_size, max_entries_per_segment=max_entries_per_segment,
                            sync=sync, compress=compress, min_compress_size=min_compress_size,
                            lock_timeout=lock_timeout, hold_lock=hold_lock, force=force)
    if routed:
        from . import sharded_append

        sharded_append.run(root, stream, values, key=key, key_sep=key_sep, shards=shards, mode=mode, batch=batch,
                           linger=linger / 1000, options=options, quiet=quiet, json_out=json_out)
        return
    if values:
        encoded = [v.encode("utf-8", "surrogateescape") for v in values]
        ranges = _once(lambda: append_values(root, stream, encoded, options, on_warning=warn))
    else:
        ranges = append_from(root, stream, sys.stdin.fileno(), mode=mode, batch_size=batch,
                             linger=linger / 1000, options=options, on_warning=warn, expect_ids=expect_ids)
    _report(stream, ranges, quiet, json_out, root)


def _input_mode(input_format: str | None, null: bool, whole: bool) -> str:
    """The input mode of ops.append: --input-format, or its short forms -0 and --whole (never two)."""
    from ..errors import UsageError

    chosen = [name for name, given in (("-0/--null", null), ("--whole", whole),
                                       ("--input-format", input_format is not None)) if given]
    if len(chosen) > 1:
        raise UsageError(f"choose one of {' and '.join(chosen)}")
    fmt = input_format if input_format is not None else "null" if null else "raw" if whole else "line"
    return {"line": "lines", "raw": "whole"}.get(fmt, fmt)


def _next_id_note(root: Path | None, stream: str) -> str:
    """Where the stream ends now: frames written whole before the failing one stay, acknowledged
    or not (a group of batches is acknowledged together), and the next append goes on there."""
    if root is None:
        return ""
    from ..errors import IronwalError
    from ..ops.read import open_stream

    try:
        last = open_stream(root, stream).next_id() - 1
    except (IronwalError, OSError):  # a note on top of an error: without it the error still stands
        return ""
    return f"; the stream now holds ids up to {last}, the next append goes on after"


def _stdin_dash(stream: str | None, values: list[str] | None, routed: bool):
    """``-`` stands for stdin, as for cat and tar: ``append s -`` reads entries from stdin (the same
    as no VALUE); it is never a stream name (``echo hi | ironwal append -`` is refused, not a
    stream called ``-``). A literal ``-`` entry comes from stdin: ``echo - | ironwal append s``."""
    from ..errors import UsageError

    if routed and stream == "-" and not values:  # `append --key K -`: the only argument is a value
        return None, None
    if stream == "-":
        raise UsageError("'-' is not a stream name: give STREAM, then - or no VALUE to read entries from stdin")
    if values and "-" in values:
        if len(values) > 1:
            raise UsageError("- (read stdin) must be the only VALUE; a literal '-' entry comes from stdin")
        return stream, None
    return stream, values


def _once(append):
    """The one range of an append of VALUE arguments, as the generator ``_report`` consumes."""
    yield append()


def _report(stream: str, ranges, quiet: bool, json_out: bool, root: Path | None = None) -> None:
    from ..errors import IronwalError, StorageError

    out = sys.stdout
    first = nxt = None
    count = 0
    try:
        for ids in ranges:
            if first is None and len(ids):
                first = ids.start
            count += len(ids)
            nxt = ids.stop
            if not quiet and not json_out and len(ids):
                out.write("\n".join(map(str, ids)))
                out.write("\n")
                out.flush()
    except IronwalError as err:  # disk full after 40,000 lines: say what is safe before the reason
        if not (count or isinstance(err, StorageError)):
            raise
        done = f"ids {first}..{nxt - 1}, printed" if count else "none"
        err.args = (f"{err}; {count} entries acknowledged before it ({done}){_next_id_note(root, stream)}",)
        raise
    if json_out and not quiet:
        import json

        out.write(json.dumps({"stream": stream, "first": first, "count": count, "next": nxt}) + "\n")
        out.flush()
