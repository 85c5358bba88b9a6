"""Enumerated option values, as typer wants them."""

from enum import Enum


class SyncMode(str, Enum):
    strict = "strict"
    batch = "batch"
    async_ = "async"


class EntryFormat(str, Enum):
    line = "line"
    raw = "raw"
    null = "null"
    jsonl = "jsonl"
    hex = "hex"
    base64 = "base64"
