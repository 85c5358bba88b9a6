"""Fast encode/decode for the hot paths, built from the generated layout table.

Nothing here restates the layout: every ``struct`` format comes from ``_layout.LAYOUT``, which
``generate.py`` derives from the construct declarations, and every struct of several fields is
packed and read by field name, through the packers and pickers ``fields.py`` generates from it.
Importing this module costs only ``struct`` and the CRC (spec/crc.py), which keeps ``ironwal
append`` quick to start.
"""

from __future__ import annotations

import struct
from collections import namedtuple
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain, pairwise
from typing import NamedTuple

from ._layout import LAYOUT
from .crc import crc32
from .fields import generated, packer, picker
from .native import c_twin

_C = LAYOUT["constants"]
FRAME_MAGIC: int = _C["FRAME_MAGIC"]
CHECKPOINT_MAGIC: bytes = _C["CHECKPOINT_MAGIC"]
HEAD_STATE_VERSION: int = _C["HEAD_STATE_VERSION"]
CHECKPOINT_VERSION: int = _C["CHECKPOINT_VERSION"]
FRAME_RAW: int = _C["FRAME_TYPES"]["raw"]
FRAME_LZ4: int = _C["FRAME_TYPES"]["lz4"]


def _fixed_struct(name: str) -> struct.Struct:
    fields = LAYOUT[name]
    assert all(kind == "fixed" for _, _, kind in fields), name
    return struct.Struct("<" + "".join(fmt for _, fmt, _ in fields))


def _fields(name: str) -> tuple[str, ...]:
    """The field names of the struct ``name``, in the declarations' (disk) order."""
    return tuple(field for field, _, _ in LAYOUT[name])


def _struct_of(name: str, *fields: str) -> struct.Struct:
    """The ``struct`` of the named ``fields`` of the declared struct ``name`` (their fixed parts: a
    length-prefixed field gives its prefix, a repeated one its item). Found by name, never by
    position: the fields must follow each other on disk in the order given, or this fails at import."""
    names = _fields(name)
    at = names.index(fields[0])
    assert names[at:at + len(fields)] == fields, f"{name}: {fields} are not consecutive in {names}"
    return struct.Struct("<" + "".join(LAYOUT[name][at + i][1] for i in range(len(fields))))


def _field_offsets(name: str) -> dict[str, tuple[int, int]]:
    offsets, pos = {}, 0
    for field, fmt, _ in LAYOUT[name]:
        size = struct.calcsize("<" + fmt)
        offsets[field] = (pos, pos + size)
        pos += size
    return offsets


FRAME_HEADER = _fixed_struct("frame_header")
HEADER_SIZE: int = FRAME_HEADER.size
HEADER_FIELDS: tuple[str, ...] = _fields("frame_header")
FRAME_MAGIC_BYTES: bytes = _struct_of("frame_header", "magic").pack(FRAME_MAGIC)
_HEADER_OFFSETS = _field_offsets("frame_header")
_covered = [_HEADER_OFFSETS[f] for f in _C["CRC_COVERED_HEADER_FIELDS"]]
CRC_COVERED_START: int = _covered[0][0]
CRC_COVERED_END: int = _covered[-1][1]
assert all(a[1] == b[0] for a, b in pairwise(_covered)), "CRC-covered fields must be contiguous"
RESERVED_SLICE = slice(*_HEADER_OFFSETS["reserved"])
# The frame header as the C walks (spec/_walk.c: chain, clean_run) are handed it: by field name, each
# field's offset and struct format (C takes the fields it reads by name and checks their formats),
# and for verify's clean_run the spans it checks whole (the reserved bytes, the CRC-covered fields)
# and the raw frame type.
CHAIN_LAYOUT: dict = {
    "header_size": HEADER_SIZE,
    "frame_magic": FRAME_MAGIC,
    "fields": {field: (_HEADER_OFFSETS[field][0], fmt) for field, fmt, _ in LAYOUT["frame_header"]},
    "reserved": (RESERVED_SLICE.start, RESERVED_SLICE.stop),
    "crc_covered": (CRC_COVERED_START, CRC_COVERED_END),
    "raw_type": FRAME_RAW,
}

ENTRY_LENGTH = _struct_of("entry", "entry")  # an entry's length prefix
INDEX_ID = _struct_of("segments_idx_item", "segments_idx_item")
HEAD_PREFIX = _struct_of("head", "head")  # the checkpoint id's length prefix
HEAD_STATE_PREFIX = _struct_of("head_state", "version", "segment_name")  # version, name length
CHECKPOINT_RECORD_PREFIX = _struct_of("checkpoint_record", "magic", "crc", "body")  # magic, crc, body length
CHECKPOINT_ID_PREFIX = _struct_of("checkpoint_payload", "version", "checkpoint_id")  # version, id length
CHECKPOINT_TAIL = _struct_of("checkpoint_payload", "timestamp_ns", "shard_count")
CHECKPOINT_OFFSET = _struct_of("checkpoint_payload", "offsets")  # one item
# The same prefixes packed and read by field name (the structs above give their sizes):
_pack_head_state_prefix = packer("head_state", "version", "segment_name")
_pick_head_state_prefix = picker("head_state", "version", "segment_name")
_pack_record_prefix = packer("checkpoint_record", "magic", "crc", "body")
CHECKPOINT_RECORD_FIELDS = picker("checkpoint_record", "magic", "crc", "body")  # (magic, crc, body length)
_pack_id_prefix = packer("checkpoint_payload", "version", "checkpoint_id")
_pick_id_prefix = picker("checkpoint_payload", "version", "checkpoint_id")
_pack_tail = packer("checkpoint_payload", "timestamp_ns", "shard_count")
_pick_tail = picker("checkpoint_payload", "timestamp_ns", "shard_count")

_pack_header = packer("frame_header")  # keywords: the declared field names
_unpack_header = FRAME_HEADER.unpack_from
_pack_len = ENTRY_LENGTH.pack
_unpack_len = ENTRY_LENGTH.unpack_from
RESERVED_ZERO = b"\x00" * (RESERVED_SLICE.stop - RESERVED_SLICE.start)


class FrameHeader(namedtuple("FrameHeader", HEADER_FIELDS)):
    """A frame header, its fields named (and ordered) as the declarations' ``frame_header``."""

    __slots__ = ()

    @property
    def end_id(self) -> int:
        return self.start_id + self.entry_count


def unpack_header(buf, offset: int = 0) -> FrameHeader:
    return FrameHeader._make(_unpack_header(buf, offset))


def pack_header(header: FrameHeader) -> bytes:
    """The 32 bytes of ``header``, every field as given (``encode_frame_header`` computes the CRC)."""
    return _pack_header(**header._asdict())


def frame_crc(header_bytes, payload) -> int:
    """CRC of a frame from its 32 header bytes (only the covered fields count) and payload."""
    return crc32(payload, crc32(header_bytes[CRC_COVERED_START:CRC_COVERED_END]))


class _LengthPrefixes(dict):
    """Cache of 4-byte length prefixes: entries of a batch repeat a handful of lengths."""

    def __missing__(self, length: int) -> bytes:
        value = self[length] = _pack_len(length)
        return value


_prefix_of = _LengthPrefixes()


def encode_raw_batch(entries: Sequence[bytes]) -> bytes:
    """u32 length + bytes, per entry.

    Every batch of entries written passes here (an LZ4 append encodes before it compresses): the C
    twin (``_walk.c`` encode_raw_batch, told the prefix's size) sums the lengths, then copies each
    entry once, with no Python step per entry; in Python one join over (prefix, entry) pairs.
    """
    if len(entries) == 1:  # single appends: the common one-shot case
        return _pack_len(len(entries[0])) + entries[0]
    if len(_prefix_of) > 65536:
        _prefix_of.clear()
    return b"".join(chain.from_iterable(zip(map(_prefix_of.__getitem__, map(len, entries)), entries, strict=True)))


encode_raw_batch = c_twin(encode_raw_batch, ENTRY_LENGTH.size)  # the C one takes the prefix's size first


def raw_batch_size(entries: Iterable[bytes]) -> int:
    return sum(map(len, entries)) + ENTRY_LENGTH.size * len(entries)  # type: ignore[arg-type]


# Every frame written passes here: generated (spec/fields.py ``generated``) so that its two struct
# calls take the declared fields by name at the cost of positional calls. Its locals, and the two
# constants handed in, are named as the fields; the generator writes each call's arguments.
encode_frame_header = generated('''
def encode_frame_header(start_id: int, entry_count: int, frame_type: int, payload, uncompressed_size: int,
                        crc_flip: int = 0) -> bytes:
    """The 32-byte header of the frame holding ``payload``: written apart from it, no copy of the payload.
    ``crc_flip`` is xored into the CRC (a lost-ids filler's CRC is wrong on purpose, by that mask)."""
    disk_size = len(payload)
    crc = crc32(payload, crc32({covered})) ^ crc_flip
    return {header}
''', {"covered": ("frame_header", *_C["CRC_COVERED_HEADER_FIELDS"]), "header": ("frame_header",)}, __name__,
    crc32=crc32, magic=FRAME_MAGIC, reserved=RESERVED_ZERO)


def encode_single_frame(start_id: int, entry: bytes) -> bytes:
    """A whole raw frame of one entry: the single-append path, where one small copy beats two buffers."""
    payload = _pack_len(len(entry)) + entry
    return encode_frame_header(start_id, 1, FRAME_RAW, payload, len(payload)) + payload


def encode_frame(start_id: int, entry_count: int, frame_type: int, payload: bytes, uncompressed_size: int) -> bytes:
    return encode_frame_header(start_id, entry_count, frame_type, payload, uncompressed_size) + payload


# ----- filler frames: lost ids made loud to the crate (``lost_filler`` in the declarations) ---------

LOST_FILLER = _fixed_struct("lost_filler")
_pack_filler = packer("lost_filler")
_pick_filler = picker("lost_filler", "marker", "first", "end")
LOST_RANGE = _fixed_struct("lost_range")  # one (first, end) pair of lost.idx
LOST_RANGE_FIELDS = picker("lost_range", "first", "end")  # (first, end) of the pair at an offset
pack_lost_range = packer("lost_range")  # pack_lost_range(first=..., end=...)
LOST_FILLER_MARKER: bytes = _C["LOST_FILLER_MARKER"]
LOST_FILLER_CRC_FLIP: int = _C["LOST_FILLER_CRC_FLIP"]
LOST_FILLER_FRAME_SIZE: int = HEADER_SIZE + LOST_FILLER.size
MAX_FRAME_ENTRIES: int = 2 ** (8 * _struct_of("frame_header", "entry_count").size) - 1


def encode_lost_fillers(first: int, end: int) -> bytes:
    """Filler frames for the lost ids ``first..end-1``, back to back (one per 2**32-1 ids)."""
    out = []
    while first < end:
        stop = min(end, first + MAX_FRAME_ENTRIES)
        payload = _pack_filler(marker=LOST_FILLER_MARKER, first=first, end=stop)
        out.append(encode_frame_header(first, stop - first, FRAME_RAW, payload, len(payload), LOST_FILLER_CRC_FLIP)
                   + payload)
        first = stop
    return b"".join(out)


def lost_filler_range(data, offset: int) -> tuple[int, int] | None:
    """(first, end) of the filler frame at ``offset`` of ``data``; None unless every field says filler
    (a frame of real entries whose CRC was hit never passes for one: its payload and CRC differ)."""
    if len(data) - offset < LOST_FILLER_FRAME_SIZE:
        return None
    h = unpack_header(data, offset)
    if (h.magic != FRAME_MAGIC or h.frame_type != FRAME_RAW or h.disk_size != LOST_FILLER.size
            or h.uncompressed_size != LOST_FILLER.size or h.reserved != RESERVED_ZERO or h.entry_count < 1):
        return None
    payload = bytes(data[offset + HEADER_SIZE:offset + LOST_FILLER_FRAME_SIZE])
    marker, first, end = _pick_filler.unpack_from(payload)
    if marker != LOST_FILLER_MARKER or first != h.start_id or end != h.end_id:
        return None
    if frame_crc(bytes(data[offset:offset + HEADER_SIZE]), payload) ^ LOST_FILLER_CRC_FLIP != h.crc:
        return None
    return first, end


def decode_raw_batch(payload, entry_count: int) -> list[bytes]:
    """The entries of a raw batch; ValueError unless it holds exactly ``entry_count`` entries.

    The hot path of every read: the lengths are walked with as few Python operations per
    entry as possible (one comprehension; when all entries share one length, a strided check
    of the length prefixes and one ``struct`` unpack, with no per-entry Python at all),
    and only when that walk does not come out exactly at the end is the batch walked again,
    slowly, to say what is wrong.
    """
    entries = _split_uniform(payload, entry_count)  # reads a memoryview in place: no copy
    if entries is None:
        entries = split(payload, entry_count)  # C reads it in place too
    if entries is None:
        _explain_bad_batch(bytes(payload), entry_count)
    return entries


def uniform_entry_length(payload, count: int) -> int | None:
    """The length all ``count`` entries share, when they all have the first one's and fill ``payload``.

    Fixed-size records are the common batch: their length prefixes are read in place by one C call
    (a cached ``struct`` for up to 4096 entries, strided slices past that), with no per-entry Python.
    """
    size = len(payload)
    if count < 1 or size < ENTRY_LENGTH.size:
        return None
    length = _unpack_len(payload, 0)[0]
    stride = length + ENTRY_LENGTH.size
    if stride * count != size:
        return None
    if count == 1:
        return length
    if count <= UNIFORM_STRUCT_MAX:
        lengths = _prefixes_struct(stride, count).unpack_from(payload)
        return length if lengths.count(length) == count else None
    view = memoryview(payload)
    first = bytes(view[:ENTRY_LENGTH.size])
    # byte k of every length prefix, gathered by one strided slice, must equal the first prefix's
    same = all(view[k::stride].tobytes() == first[k:k + 1] * count for k in range(ENTRY_LENGTH.size))
    return length if same else None


def _split_uniform(data, count: int) -> list[bytes] | None:
    """Fixed-size records: split by one C-level unpack, no walk."""
    if count < 2:
        return None
    n = uniform_entry_length(data, count)
    if n is None:
        return None
    if count <= UNIFORM_STRUCT_MAX:
        return list(_uniform_struct(n, count).unpack(data))
    # A struct that big would cost more memory than it saves time: unpack chunks of at most
    # UNIFORM_STRUCT_MAX entries. Each entry comes out as bytes, never as a slice of ``data``
    # (a memoryview of a mapped segment: no ``decode``, and it dies with the map).
    entries: list[bytes] = []
    chunk = _uniform_struct(n, UNIFORM_STRUCT_MAX)
    step = chunk.size
    whole = count - count % UNIFORM_STRUCT_MAX
    for pos in range(0, whole * (n + ENTRY_LENGTH.size), step):
        entries += chunk.unpack_from(data, pos)
    if whole < count:
        entries += _uniform_struct(n, count - whole).unpack_from(data, whole * (n + ENTRY_LENGTH.size))
    return entries


UNIFORM_STRUCT_MAX = 4096


@lru_cache(maxsize=16)
def _uniform_struct(length: int, count: int) -> struct.Struct:
    """``count`` times (skip the 4-byte length, take ``length`` bytes), as one struct."""
    return struct.Struct(f"<{count * f'4x{length}s'}")


@lru_cache(maxsize=64)
def _prefixes_struct(stride: int, count: int) -> struct.Struct:
    """Reads the ``count`` length prefixes of a batch of ``stride``-byte entries, skipping the bytes between."""
    pad = stride - ENTRY_LENGTH.size
    return struct.Struct("<" + (f"L{pad}x" if pad else "L") * count)


@c_twin
def split(payload, count: int) -> list[bytes] | None:
    """The ``count`` entries of ``payload`` as bytes; None unless exactly ``count`` entries fill it.

    For every read of a batch of mixed lengths. In Python one comprehension step per entry (a
    memoryview is copied to bytes once first, so that the entries come out as bytes); the C twin
    (``_walk.c`` split) walks the lengths once, then makes the bytes objects directly.
    """
    if count < 0:
        return None
    data = payload if type(payload) is bytes else bytes(payload)
    pos = 0
    unpack = _unpack_len
    try:
        entries = [data[pos + 4:(pos := pos + 4 + unpack(data, pos)[0])] for _ in range(count)]
    except struct.error:  # a length ran past the end: the next length could not be read
        return None
    return entries if pos == len(data) else None


def _explain_bad_batch(data: bytes, entry_count: int) -> None:
    raise ValueError(batch_error(data, entry_count))


def batch_error(data, entry_count: int) -> str:
    """The first way ``data`` fails to hold exactly ``entry_count`` entries (the slow, careful walk)."""
    pos, end = 0, len(data)
    for i in range(entry_count):
        if pos + 4 > end:
            return f"batch ends inside the length of entry {i}"
        (n,) = _unpack_len(data, pos)
        pos += 4
        if pos + n > end:
            return f"entry {i} claims {n} bytes, {end - pos} remain"
        pos += n
    return f"{end - pos} bytes left over after {entry_count} entries"


def encode_index(ids: Iterable[int]) -> bytes:
    return b"".join(map(INDEX_ID.pack, ids))


def decode_index(data: bytes) -> list[int]:
    """ValueError when the length is not a whole number of ids."""
    if len(data) % INDEX_ID.size:
        raise ValueError(f"length {len(data)} is not a multiple of {INDEX_ID.size}")
    return [v for (v,) in INDEX_ID.iter_unpack(data)]


def encode_head_state(segment_name: str) -> bytes:
    name = segment_name.encode("ascii")
    return _pack_head_state_prefix(version=HEAD_STATE_VERSION, segment_name_length=len(name)) + name


def decode_head_state(data: bytes) -> str:
    if len(data) < HEAD_STATE_PREFIX.size:
        raise ValueError(f"{len(data)} bytes, shorter than the {HEAD_STATE_PREFIX.size}-byte prefix")
    version, n = _pick_head_state_prefix.unpack_from(data)
    if version != HEAD_STATE_VERSION:
        raise ValueError(f"version {version}, expected {HEAD_STATE_VERSION}")
    name = data[HEAD_STATE_PREFIX.size:HEAD_STATE_PREFIX.size + n]
    if len(name) != n:
        raise ValueError(f"name claims {n} bytes, {len(name)} present")
    if len(data) != HEAD_STATE_PREFIX.size + n:
        raise ValueError(f"{len(data) - HEAD_STATE_PREFIX.size - n} bytes after the name")
    return name.decode("ascii")


def encode_head(checkpoint_id: bytes) -> bytes:
    return HEAD_PREFIX.pack(len(checkpoint_id)) + checkpoint_id


def decode_head(data: bytes) -> bytes:
    if len(data) < HEAD_PREFIX.size:
        raise ValueError("shorter than its length prefix")
    (n,) = HEAD_PREFIX.unpack_from(data)
    if len(data) != HEAD_PREFIX.size + n:
        raise ValueError(f"length prefix says {n} bytes, {len(data) - HEAD_PREFIX.size} present")
    return data[HEAD_PREFIX.size:]


class Checkpoint(NamedTuple):
    checkpoint_id: bytes
    timestamp_ns: int
    offsets: tuple[int, ...]

    @property
    def shard_count(self) -> int:
        return len(self.offsets)


def encode_checkpoint_payload(cp: Checkpoint) -> bytes:
    return (
        _pack_id_prefix(version=CHECKPOINT_VERSION, checkpoint_id_length=len(cp.checkpoint_id))
        + cp.checkpoint_id
        + _pack_tail(timestamp_ns=cp.timestamp_ns, shard_count=len(cp.offsets))
        + b"".join(map(CHECKPOINT_OFFSET.pack, cp.offsets))
    )


def encode_checkpoint_record(cp: Checkpoint) -> bytes:
    payload = encode_checkpoint_payload(cp)
    return _pack_record_prefix(magic=CHECKPOINT_MAGIC, crc=crc32(payload), body_length=len(payload)) + payload


def decode_checkpoint_payload(payload: bytes) -> Checkpoint:
    """ValueError on a wrong version or lengths that do not add up."""
    if len(payload) < CHECKPOINT_ID_PREFIX.size:
        raise ValueError("payload shorter than its fixed prefix")
    version, id_len = _pick_id_prefix.unpack_from(payload)
    if version != CHECKPOINT_VERSION:
        raise ValueError(f"version {version}, expected {CHECKPOINT_VERSION}")
    pos = CHECKPOINT_ID_PREFIX.size
    checkpoint_id = payload[pos:pos + id_len]
    pos += id_len
    if len(payload) < pos + CHECKPOINT_TAIL.size:
        raise ValueError("payload ends inside the id or timestamp")
    timestamp_ns, shard_count = _pick_tail.unpack_from(payload, pos)
    pos += CHECKPOINT_TAIL.size
    if len(payload) != pos + shard_count * CHECKPOINT_OFFSET.size:
        raise ValueError(f"{shard_count} offsets do not fill the {len(payload)}-byte payload")
    offsets = tuple(v for (v,) in CHECKPOINT_OFFSET.iter_unpack(payload[pos:]))
    return Checkpoint(checkpoint_id, timestamp_ns, offsets)


# ----- seals.idx (ours): fixed-size records, the CRC last --------------------------------------

SEAL_FIELDS: tuple[str, ...] = _fields("seal_record")
assert SEAL_FIELDS[-1] == "crc", "the seal record's CRC covers every byte before it"
SEAL_RECORD = _fixed_struct("seal_record")
_SEAL_BODY_FIELDS = tuple(field for field in SEAL_FIELDS if field != "crc")
_SEAL_BODY = _struct_of("seal_record", *_SEAL_BODY_FIELDS)
_SEAL_CRC = _struct_of("seal_record", "crc")
_pack_seal_body = packer("seal_record", *_SEAL_BODY_FIELDS)


class Seal(namedtuple("Seal", _SEAL_BODY_FIELDS)):
    """A closed, synced segment: its ids [start_id, end_id) and its stat when it was sealed (the
    fields of the declarations' ``seal_record`` but its CRC, by name)."""

    __slots__ = ()


SEAL_BODY = picker("seal_record", *Seal._fields)  # a record's fields but its CRC, as Seal names them


def encode_seal(seal: Seal) -> bytes:
    body = _pack_seal_body(**seal._asdict())
    return body + _SEAL_CRC.pack(crc32(body))


def decode_seals(data) -> tuple[list[Seal], int]:
    """(the records whose CRC holds, in file order; how many records are bad or torn)."""
    size = SEAL_RECORD.size
    whole = len(data) - len(data) % size
    seals, bad = [], int(whole != len(data))
    for pos in range(0, whole, size):
        body = data[pos:pos + _SEAL_BODY.size]
        if _SEAL_CRC.unpack_from(data, pos + _SEAL_BODY.size)[0] == crc32(body):
            seals.append(Seal._make(SEAL_BODY.unpack_from(body)))
        else:
            bad += 1
    return seals, bad
