"""The plain (non-sharded) conformance cases written by the reference crate, and helpers to read them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ironwal_cli.spec.codec import decode_index

CONFORMANCE = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance"


def load_case(name: str) -> dict:
    return json.loads((CONFORMANCE / name / "case.json").read_text())


PLAIN_CASES = sorted(p.name for p in CONFORMANCE.iterdir() if load_case(p.name)["kind"] == "plain")


def streams_of(root: Path) -> list[str]:
    """Every subdirectory of a root is a stream, in byte order of its name (the dump's order)."""
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=os.fsencode)


def expected_by_stream(name: str) -> dict[str, dict]:
    """{stream: {"entries": [(id, bytes)], "error": {"error", "next_id"} or None}} from expected.jsonl."""
    out: dict[str, dict] = {}
    for line in (CONFORMANCE / name / "expected.jsonl").read_text().splitlines():
        rec = json.loads(line)
        slot = out.setdefault(rec["stream"], {"entries": [], "error": None})
        if "error" in rec:
            slot["error"] = rec
        else:
            slot["entries"].append((rec["id"], bytes.fromhex(rec["hex"])))
    return out


def first_read_id(stream_dir: Path) -> int:
    """The dump rule: a stream whose segments.idx starts above 0 (truncated) is read from that id."""
    try:
        ids = decode_index((stream_dir / "segments.idx").read_bytes())
    except (FileNotFoundError, ValueError):
        return 0
    return ids[0] if ids and ids[0] > 0 else 0
