"""Input records (lines, NUL-terminated) straight into raw batches: the bulk append's encoder.

``encode_records`` cuts every separator-terminated record of a buffer into batches already in
the raw-batch layout (``codec.encode_raw_batch``: length prefix, then the bytes), without a
Python object per record where the C module is built (``_walk.c``, same name, overriding the
Python one below at import; a property test holds them equal). A ``RawBatch`` is such a batch
as the writer takes it: its payload and its entry count, and its entries when a writer must cut
it (a segment nearly full) as the crate cuts a batch of entries.
"""

from __future__ import annotations

from typing import NamedTuple

from .codec import ENTRY_LENGTH, decode_raw_batch, encode_raw_batch
from .native import c_twin

# The length prefix of an entry is an unsigned little-endian integer of ENTRY_LENGTH.size bytes:
# all the C encoder is told of the layout (its size), so it is never written down there.
assert ENTRY_LENGTH.format in ("<L", "<I", "<Q", "<H", "<B"), ENTRY_LENGTH.format


class RawBatch(NamedTuple):
    """``count`` entries already encoded as a raw batch's ``payload``."""

    payload: bytes
    count: int

    def __len__(self) -> int:  # type: ignore[override]  # a batch's length is its entry count
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def entry_bytes(self) -> int:
        """The entries' own bytes, without their length prefixes."""
        return len(self.payload) - ENTRY_LENGTH.size * self.count

    def entries(self) -> list[bytes]:
        return decode_raw_batch(self.payload, self.count)


def encode_records(data, sep: bytes, first: int, size: int) -> tuple[list[tuple[bytes, int]], int]:
    """Every ``sep``-terminated record of ``data`` (any buffer) as raw batches:
    ``([(payload, count), ...], consumed)``.

    The first batch holds at most ``first`` records, each later one at most ``size``; ``consumed``
    is the offset just past the last separator (the unterminated rest is not taken).
    """
    if first < 1 or size < 1:
        raise ValueError("encode_records: batch sizes >= 1")
    parts = (data if type(data) is bytes else bytes(data)).split(sep)
    rest = parts.pop()
    out = []
    i, take = 0, first
    while i < len(parts):
        chunk = parts[i:i + take]
        out.append((encode_raw_batch(chunk), len(chunk)))
        i += take
        take = size
    return out, len(data) - len(rest)


encode_records_python = encode_records  # kept by name for the property test (also native.TWINS)
encode_records = c_twin(encode_records, ENTRY_LENGTH.size)  # the C one takes the prefix's size first
