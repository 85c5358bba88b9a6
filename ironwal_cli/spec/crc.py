"""The CRC-32 of the format.

The crate uses crc32fast, which is CRC-32/ISO-HDLC (the zlib polynomial). ``CRC32_DEFINITION``
states it with crcmod's parameters, so the definition is written down once and independently
of zlib; ``crc32`` is the fastest C implementation of the same function at hand, and property
tests prove each agrees with the definition (tests/unit/test_spec_codec.py).

``crc32`` is ISA-L's (the ``isal`` package, a dependency: ~5-8x zlib's speed here, the same
values), or zlib's where isal cannot be imported (a platform without its wheel). This is the
one place that chooses: every CRC of the package is computed by ``crc32`` from here.
"""

try:
    from isal.isal_zlib import crc32
except ImportError:  # no isal: zlib's (the same function, slower on large buffers)
    from zlib import crc32

__all__ = ["CRC32_DEFINITION", "CRC_IMPLEMENTATION", "crc32", "reference_crc32"]

# Which library ``crc32`` is, for ``ironwal --version``.
CRC_IMPLEMENTATION: str = "isal" if crc32.__module__.startswith("isal") else "zlib"

# poly, init, reversed, xor_out: crcmod's spelling of CRC-32/ISO-HDLC.
CRC32_DEFINITION = {"poly": 0x104C11DB7, "initCrc": 0, "rev": True, "xorOut": 0xFFFFFFFF}


def reference_crc32(data: bytes, crc: int = 0) -> int:
    """The slow, definitional CRC (crcmod), used by the construct spec and the tests."""
    import crcmod

    global _reference
    try:
        fn = _reference
    except NameError:
        fn = _reference = crcmod.mkCrcFun(**CRC32_DEFINITION)
    return fn(data, crc)
