"""spec.codec.encode_raw_batch: the C twin (``_walk.c``) gives exactly the Python function's bytes
for any entries, bytes or other buffers, and fails where it fails (the pair from spec.native.TWINS)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.spec.codec import decode_raw_batch
from ironwal_cli.spec.native import twin

ENCODE = twin("ironwal_cli.spec.codec.encode_raw_batch")
needs_c = pytest.mark.skipif(ENCODE.c is None, reason="the C walk was not built (no compiler at install)")

entries = st.lists(st.binary(max_size=300), max_size=40)


@given(entries)
def test_the_python_encoder_is_length_then_bytes(items):
    raw = ENCODE.python(items)
    assert raw == b"".join(struct.pack("<L", len(e)) + e for e in items)
    assert decode_raw_batch(raw, len(items)) == items


@needs_c
@given(entries, st.sampled_from([list, tuple]))
def test_c_and_python_encoders_agree(items, kind):
    want = ENCODE.python(items)
    got = ENCODE.c(kind(items))
    assert type(got) is bytes and got == want


@needs_c
@given(entries)
def test_c_encoder_takes_any_buffer(items):
    """Entries as bytearray or memoryview (a slice of a mapped segment) encode as their bytes."""
    mixed = [bytearray(e) if i % 3 == 0 else memoryview(e) if i % 3 == 1 else e for i, e in enumerate(items)]
    assert ENCODE.c(mixed) == ENCODE.python(items)


@needs_c
def test_c_encoder_refuses_what_python_refuses():
    for bad in ([b"a", "text"], [b"a", 7], None):
        with pytest.raises(TypeError):
            ENCODE.python(bad)
        with pytest.raises(TypeError):
            ENCODE.c(bad)
