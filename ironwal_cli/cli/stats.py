"""``ironwal stats [STREAM...]``: entries, frames, bytes, compression and fill, from frame headers."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import RootOption, app, handles_errors, json_option
from .params import parse_size

STREAM_COLUMNS = ["stream", "segments", "frames", "entries", "first", "last", "disk_bytes", "raw_bytes",
                  "lz4_frames", "ratio", "ids_per_frame", "problems"]
SIZE_COLUMNS = ["size_min", "size_median", "size_p99", "size_max"]
SEGMENT_COLUMNS = ["stream", "segment", "frames", "entries", "first", "last", "disk_bytes", "raw_bytes",
                   "lz4_frames", "ratio", "ids_per_frame", "fill", "problems"]


@app.command()
@handles_errors
def stats(
    streams: list[str] | None = typer.Argument(None, metavar="STREAM...",
                                               help="Streams to describe (default: every stream of the root)."),
    root: Path = RootOption,
    segments: bool = typer.Option(False, "--segments", help="One row per segment instead of per stream."),
    sizes: bool = typer.Option(False, "--sizes", help="Also the entry-size distribution (min, median, p99, "
                               "max): reads every entry, CRC checked; the rest reads headers only."),
    max_segment_size: str = typer.Option("64MiB", "--max-segment-size", metavar="SIZE",
                                         envvar="IRONWAL_MAX_SEGMENT_SIZE",
                                         help="The segment size fill is measured against (4k, 64MiB...)."),
    json_out: bool = json_option("one JSON object (shape in ironwal-stats(1))"),
) -> None:
    """Per stream (or --segments: per segment): entries, frames, bytes, LZ4 and fill.

    Reads frame headers only, so it is quick on any size of log; damage is counted, not
    reported (see ironwal verify). On a sharded root each shard is a row, with its skew.
    """
    from ..ops.stats import root_stats

    result = root_stats(root, streams or None, segment_size=parse_size(max_segment_size, "--max-segment-size"),
                        entry_sizes=sizes)
    if json_out:
        import json

        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    from .tables import print_table

    if segments:
        rows = [_segment_row(s.stream, seg.to_dict()) for s in result.streams for seg in s.segments]
        print_table(SEGMENT_COLUMNS, rows, title=f"{root} (segments)")
        return
    mean = result.skew() is not None and sum(s.total("entries") for s in result.streams) / len(result.streams)
    columns = STREAM_COLUMNS + (SIZE_COLUMNS if sizes else []) + (["skew"] if mean is not False else [])
    rows = []
    for s in result.streams:
        d = s.to_dict()
        row = _common(d) + [d["problems"]]
        if sizes:
            row += [_cell(d["entry_size"][k]) for k in ("min", "median", "p99", "max")]
        if mean is not False:
            row.append(_cell(round(d["entries"] / mean, 3) if mean else None))
        rows.append([d["stream"], d["segments"], *row])
    title = f"{root}" + (f" (sharded, skew {result.skew()})" if result.sharded else "")
    print_table(columns, rows, title=title)


def _common(d: dict) -> list:
    """frames .. ids_per_frame: the columns a stream row and a segment row share."""
    per_frame = d.get("ids_per_frame")
    if isinstance(per_frame, dict):
        per_frame = _cell(None if per_frame["mean"] is None else round(per_frame["mean"], 1))
    else:
        low, high = d["min_ids_per_frame"], d["max_ids_per_frame"]
        per_frame = _cell(low) if low == high else f"{low}-{high}"
    return [d["frames"], d["entries"], _cell(d["first_id"]), _cell(d["last_id"]), d["disk_bytes"],
            d["raw_bytes"], d["lz4_frames"], _cell(d["compression_ratio"]), per_frame]


def _segment_row(stream: str, d: dict) -> list:
    return [stream, d["segment"], *_common(d), d["fill"], d["problems"]]


def _cell(value) -> object:
    return "-" if value is None else value
