"""The CRC-32 of the format.

The crate uses crc32fast, which is CRC-32/ISO-HDLC (the zlib polynomial). ``CRC32_DEFINITION``
states it with crcmod's parameters, so the definition is written down once and independently
of zlib; ``crc32`` is zlib's C implementation of the same function, and a test proves both agree.
"""

from zlib import crc32

__all__ = ["CRC32_DEFINITION", "crc32", "reference_crc32"]

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
