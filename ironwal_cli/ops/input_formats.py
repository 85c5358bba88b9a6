"""Reading back what ``tail -F jsonl|hex|base64`` prints: one encoded entry per input line.

These formats exist so that entries leave and come back as the same bytes, whatever they hold
(NUL, newlines, invalid UTF-8, nothing at all). A line that does not decode is refused with its
line number, and the whole group of batches it came in is refused with it, before anything of
that group is written: a pipeline never leaves half of a bad batch behind.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..errors import UsageError

DECODED_FORMATS = ("jsonl", "hex", "base64")
_HEX_DIGITS = re.compile(rb"(?:[0-9a-fA-F]{2})*")


class InputError(UsageError):
    """An input line that is not what the chosen ``--input-format`` prints."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(f"stdin line {line}: {message}")


@dataclass
class DecodedBatch:
    """The entries of one batch, and the ids its jsonl records named (None for hex and base64)."""

    entries: list[bytes]
    ids: list[int | None] | None
    first_line: int  # 1-based number of the input line of the first entry


def _hex(line: bytes) -> bytes:
    if not _HEX_DIGITS.fullmatch(line):  # bytes.fromhex skips whitespace: keep to what tail prints
        raise ValueError("holds a character that is not a hex digit")
    return bytes.fromhex(line.decode("ascii"))


def _base64(line: bytes) -> bytes:
    return base64.b64decode(line, validate=True)


def _record(line: bytes) -> tuple[bytes, int | None]:
    """(entry, id) of one ``tail -F jsonl`` record: ``b64`` wins; ``text`` alone is the UTF-8 of the entry."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if "b64" in record:
        if not isinstance(record["b64"], str):
            raise ValueError('"b64" is not a string')
        entry = base64.b64decode(record["b64"], validate=True)
        if "text" in record and record["text"] != entry.decode("utf-8", "replace"):
            raise ValueError('"text" and "b64" hold different entries')
    elif "text" in record:
        if not isinstance(record["text"], str):
            raise ValueError('"text" is not a string')
        entry = record["text"].encode("utf-8")  # a lone surrogate (\ud800) is refused here
    else:
        raise ValueError('neither "b64" nor "text"')
    if "len" in record and record["len"] != len(entry):
        raise ValueError(f'"len" is {record["len"]!r} but the entry has {len(entry)} bytes')
    entry_id = record.get("id")
    if entry_id is not None and (type(entry_id) is not int or entry_id < 0):
        raise ValueError(f'"id" {entry_id!r} is not an entry id')
    return entry, entry_id


def decoder(fmt: str) -> Callable[[bytes], tuple[bytes, int | None]]:
    """The decoding of one input line of ``fmt``: (entry, id the line names or None)."""
    if fmt == "jsonl":
        return _record
    plain = {"hex": _hex, "base64": _base64}[fmt]
    return lambda line: (plain(line), None)


def decode_groups(groups: Iterable[list[list[bytes]]], fmt: str) -> Iterator[list[DecodedBatch]]:
    """Each group of batches of input lines, decoded; InputError (and nothing of the group) at a bad line."""
    decode = decoder(fmt)
    line = 0
    for group in groups:
        decoded = []
        for batch in group:
            first_line = line + 1
            entries, ids = [], []
            for raw in batch:
                line += 1
                try:
                    entry, entry_id = decode(raw)
                except (ValueError, UnicodeError, binascii.Error) as err:
                    raise InputError(line, f"not {fmt} as `ironwal tail -F {fmt}` prints it: {err}") from None
                entries.append(entry)
                ids.append(entry_id)
            decoded.append(DecodedBatch(entries, ids if fmt == "jsonl" else None, first_line))
        yield decoded


def expected_first(group: list[DecodedBatch]) -> int:
    """The id a group's first record names, after checking every record names the next one.

    For ``--expect-ids``: the writer then refuses the group unless that is the stream's next id.
    """
    want = None
    for batch in group:
        for offset, entry_id in enumerate(batch.ids or [None] * len(batch.entries)):
            line = batch.first_line + offset
            if entry_id is None:
                raise InputError(line, 'no "id" (--expect-ids needs one in every record)')
            if want is not None and entry_id != want:
                raise InputError(line, f'"id" {entry_id} does not follow the previous record\'s {want - 1}')
            want = entry_id + 1
    if want is None:
        raise InputError(0, "empty group")  # never: groups hold at least one entry
    return want - sum(len(b.entries) for b in group)
