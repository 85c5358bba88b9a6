"""The one-line checkpoint summary ``ls`` prints under the shards of a sharded root."""

from __future__ import annotations


def summary_line(summary) -> str:
    text = f"checkpoints: {summary.count}"
    if summary.latest is not None:
        text += f"; latest: {summary.latest.display_id} at {summary.latest.time} ({summary.latest.shard_count} shards)"
    if summary.problem:
        text += f"; problem: {summary.problem}"
    return text
