"""Enumerated option values, as typer wants them."""

from enum import StrEnum


class EntryFormat(StrEnum):
    """How entries are written (``tail -F``) and read back (``append --input-format``, raw: all of stdin)."""

    line = "line"
    raw = "raw"
    null = "null"
    jsonl = "jsonl"
    hex = "hex"
    base64 = "base64"
