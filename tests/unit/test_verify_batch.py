"""The fast batch-structure check agrees with the codec's full decode on every batch, good or bad."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.audit.frames import raw_batch_error
from ironwal_cli.spec.codec import decode_raw_batch, encode_raw_batch

entries = st.lists(st.binary(max_size=40), max_size=30)
uniform = st.tuples(st.integers(0, 20), st.integers(1, 30)).map(lambda t: [bytes([7]) * t[0]] * t[1])


def decodes(payload: bytes, count: int) -> bool:
    try:
        decode_raw_batch(payload, count)
    except ValueError:
        return False
    return True


@given(st.one_of(entries, uniform), st.integers(-2, 2), st.integers(-6, 6), st.binary(max_size=4))
def test_agrees_with_decode(batch, count_delta, cut, tail):
    payload = encode_raw_batch(batch)
    payload = (payload[:cut] if cut < 0 else payload + tail[:cut])
    count = max(0, len(batch) + count_delta)
    error = raw_batch_error(memoryview(payload), count)
    assert (error is None) == decodes(payload, count), (batch, count, payload, error)


@given(uniform, st.data())
def test_uniform_looking_batch_with_one_changed_length(batch, data):
    """Same total size as a uniform batch, but one length prefix differs: the fast path must not accept it."""
    payload = bytearray(encode_raw_batch(batch))
    stride = len(batch[0]) + 4
    i = data.draw(st.integers(1, len(batch) - 1)) if len(batch) > 1 else 0
    delta = data.draw(st.sampled_from([1, 256, 65536, -1]))
    struct.pack_into("<I", payload, i * stride, (len(batch[0]) + delta) % 2**32)
    error = raw_batch_error(bytes(payload), len(batch))
    assert error is not None and not decodes(bytes(payload), len(batch))


def test_messages_say_what_is_wrong():
    raw = encode_raw_batch([b"ab", b"c"])
    assert raw_batch_error(raw, 2) is None
    assert "left over" in raw_batch_error(raw, 1)
    assert "length of entry 2" in raw_batch_error(raw, 3)
    assert "claims" in raw_batch_error(raw[:-1], 2)
