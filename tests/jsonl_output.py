"""Decoding ``--format jsonl`` output, checking each record's promises on the way."""

from __future__ import annotations

import base64
import json


def decode_jsonl(out: bytes) -> list[tuple[int, bytes]]:
    """(id, entry bytes) per line; asserts len, and a "text" field exactly when the entry is valid UTF-8."""
    got = []
    for line in out.decode("utf-8").splitlines():
        rec = json.loads(line)
        data = base64.b64decode(rec["b64"], validate=True)
        assert rec["len"] == len(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        assert rec.get("text") == text
        got.append((rec["id"], data))
    return got
