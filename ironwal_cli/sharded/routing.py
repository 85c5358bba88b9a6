"""Key -> shard routing, exactly as the crate's Router decides.

The crate hashes a key with ``std::collections::hash_map::DefaultHasher::new()``: SipHash-1-3
with both keys zero. ``Hash for [u8]`` feeds the slice length as a u64 (little-endian) and then
the bytes, so the message is ``len(key).to_bytes(8, "little") + key``. The shard is the hash
modulo the shard count; its stream is ``shard_{:02}`` (``shard_00`` .. ``shard_99``, ``shard_100``).

``siphash13`` is written here in Python (the definition), and replaced at import by the C one of
the ``siphash24`` package (a dependency; ~10x faster per key, ~1000x on a long key) wherever that
imports: the one place that chooses. A property test holds the two equal, and another holds
``route`` equal to the crate's own choice (tests/interop).
"""

from __future__ import annotations

import re
import struct

MASK = 0xFFFFFFFFFFFFFFFF
MAX_SHARDS = 0xFFFF  # the count is a u16 in checkpoint records
SHARD_DIR = re.compile(r"^shard_([0-9]{2,})$")
_WORDS = struct.Struct("<Q")


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & MASK


def _round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash13(message: bytes, k0: int = 0, k1: int = 0) -> int:
    """SipHash-1-3 (one compression round, three finalization rounds), as Rust's SipHasher13."""
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    n = len(message)
    whole = n - n % 8
    for (m,) in _WORDS.iter_unpack(message[:whole]):
        v3 ^= m
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= m
    b = ((n & 0xFF) << 56) | int.from_bytes(message[whole:], "little")
    v3 ^= b
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


siphash13_python = siphash13  # the definition above, kept by name for the property test
SIPHASH_IMPLEMENTATION = "python"
try:
    from siphash24 import siphash13 as _siphash13_c
except ImportError:  # no siphash24: the Python definition above routes every key (same shards, slower)
    pass
else:
    SIPHASH_IMPLEMENTATION = "siphash24"
    _KEY = struct.Struct("<QQ")

    def siphash13(message: bytes, k0: int = 0, k1: int = 0) -> int:  # noqa: F811 (the C override)
        """SipHash-1-3 by the ``siphash24`` package: the same function as the Python one above
        (its default key is the zero key, the one routing uses: no key argument to parse)."""
        h = _siphash13_c(message, key=_KEY.pack(k0, k1)) if k0 or k1 else _siphash13_c(message)
        return h.intdigest() & MASK


def key_hash(key: bytes) -> int:
    """What ``DefaultHasher::new()`` gives for a ``&[u8]``: the length prefix, then the bytes."""
    return siphash13(_WORDS.pack(len(key)) + key)


def check_shard_count(count: int) -> int:
    if not 1 <= count <= MAX_SHARDS:
        from ..errors import UsageError

        raise UsageError(f"shard count {count}: must be 1..{MAX_SHARDS}")
    return count


def route(key: bytes, shard_count: int) -> int:
    """The shard number the crate writes ``key`` to."""
    return key_hash(key) % shard_count


def shard_name(shard: int) -> str:
    """``shard_{:02}``: the stream directory of shard number ``shard``."""
    return f"shard_{shard:02d}"


def parse_shard_name(name: str) -> int | None:
    """The shard number of a ``shard_NN`` directory name, or None (``shard_7`` is not one)."""
    m = SHARD_DIR.match(name)
    if not m:
        return None
    number = int(m.group(1))
    return number if shard_name(number) == name else None
