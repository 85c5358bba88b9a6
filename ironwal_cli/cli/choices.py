"""Enumerated option values, as typer wants them."""

from enum import StrEnum


class SyncMode(StrEnum):
    strict = "strict"
    batch = "batch"
    async_ = "async"


class EntryFormat(StrEnum):
    line = "line"
    raw = "raw"
    null = "null"
    jsonl = "jsonl"
    hex = "hex"
    base64 = "base64"
