"""Routing equals a from-scratch SipHash-1-3 written here, for 10,000 random keys and several shard counts;
the C SipHash-1-3 (siphash24) equals the Python definition."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.sharded import routing
from ironwal_cli.sharded.routing import key_hash, parse_shard_name, route, shard_name

M64 = (1 << 64) - 1


def reference_siphash(c_rounds: int, d_rounds: int, k0: int, k1: int, msg: bytes) -> int:
    """SipHash-c-d from the paper (Aumasson & Bernstein), written independently of the package."""
    state = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rotl(x, r):
        return ((x << r) & M64) | (x >> (64 - r))

    def sipround():
        v0, v1, v2, v3 = state
        v0 = (v0 + v1) & M64; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)  # noqa: E702
        v2 = (v2 + v3) & M64; v3 = rotl(v3, 16); v3 ^= v2  # noqa: E702
        v0 = (v0 + v3) & M64; v3 = rotl(v3, 21); v3 ^= v0  # noqa: E702
        v2 = (v2 + v1) & M64; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)  # noqa: E702
        state[:] = [v0, v1, v2, v3]

    padded = msg + b"\0" * (7 - len(msg) % 8) + bytes([len(msg) & 0xFF])
    for i in range(0, len(padded), 8):
        m = sum(b << (8 * j) for j, b in enumerate(padded[i:i + 8]))
        state[3] ^= m
        for _ in range(c_rounds):
            sipround()
        state[0] ^= m
    state[2] ^= 0xFF
    for _ in range(d_rounds):
        sipround()
    return state[0] ^ state[1] ^ state[2] ^ state[3]


def rust_default_hasher(key: bytes) -> int:
    """DefaultHasher::new() (SipHash-1-3, zero keys) over Hash for [u8]: usize length, then the bytes."""
    return reference_siphash(1, 3, 0, 0, len(key).to_bytes(8, "little") + key)


def test_reference_is_siphash():
    """The reference reproduces the SipHash-2-4 paper's test vector (key 00..0f, message 00..0e)."""
    k = bytes(range(16))
    k0, k1 = int.from_bytes(k[:8], "little"), int.from_bytes(k[8:], "little")
    assert reference_siphash(2, 4, k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5


def test_ten_thousand_random_keys_route_as_the_reference():
    rng = random.Random(20261125)
    keys = [rng.randbytes(rng.randrange(0, 40)) for _ in range(10_000)]
    keys += [b"", b"\0", b"k" * 7, b"k" * 8, b"k" * 9, "ümlaut/ключ".encode()]
    mismatches = 0
    counted = 0
    for key in keys:
        expected = rust_default_hasher(key)
        assert key_hash(key) == expected
        for count in (1, 2, 7, 16, 256):
            counted += 1
            mismatches += route(key, count) != expected % count
    print(f"routing: {len(keys)} keys x 5 shard counts = {counted} routes, {mismatches} mismatches")
    assert counted == len(keys) * 5 and mismatches == 0


def test_routes_spread_over_every_shard():
    shards = {route(str(i).encode(), 16) for i in range(2000)}
    assert shards == set(range(16))


@given(st.binary(max_size=64), st.integers(1, 65535))
def test_route_is_in_range(key, count):
    assert 0 <= route(key, count) < count


@pytest.mark.parametrize("number,name", [(0, "shard_00"), (7, "shard_07"), (99, "shard_99"), (100, "shard_100"),
                                         (65534, "shard_65534")])
def test_shard_names(number, name):
    assert shard_name(number) == name
    assert parse_shard_name(name) == number


@pytest.mark.parametrize("name", ["shard_7", "shard_007", "shard_", "shard_ab", "shard_01x", "xshard_01"])
def test_not_shard_names(name):
    assert parse_shard_name(name) is None


# ----- the C SipHash-1-3 (siphash24) against the Python definition -----------------------------


@settings(deadline=None, max_examples=300)
@given(st.one_of(st.binary(max_size=64), st.binary(min_size=1000, max_size=5000)),
       st.integers(0, M64), st.integers(0, M64))
def test_the_active_siphash13_equals_the_python_definition(message, k0, k1):
    """``routing.siphash13`` (siphash24's C where it imports) gives what the Python one gives, for any keys."""
    assert routing.siphash13(message) == routing.siphash13_python(message)
    assert routing.siphash13(message, k0, k1) == routing.siphash13_python(message, k0, k1)


def test_siphash24_routes_where_it_imports():
    try:
        import siphash24  # noqa: F401
    except ImportError:
        expected = "python"
    else:
        expected = "siphash24"
    assert routing.SIPHASH_IMPLEMENTATION == expected
    assert (routing.siphash13 is routing.siphash13_python) == (expected == "python")
