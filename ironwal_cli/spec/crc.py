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

__all__ = ["CRC32_DEFINITION", "CRC_IMPLEMENTATION", "c_function", "crc32", "reference_crc32"]

# Which library ``crc32`` is, for ``ironwal --version``.
CRC_IMPLEMENTATION: str = "isal" if crc32.__module__.startswith("isal") else "zlib"


def c_function() -> tuple[str, str] | None:
    """(library file, symbol) of the C function behind ``crc32``, for the C walks (spec/native.py):
    ISA-L's ``crc32_gzip_refl(crc, buffer, length)``, which ``isal_zlib.crc32(buffer, crc)`` calls,
    exported by the isal package's own extension. None with zlib's (no C walk checks CRCs then)."""
    if CRC_IMPLEMENTATION != "isal":
        return None
    from isal import isal_zlib

    return isal_zlib.__file__, "crc32_gzip_refl"

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
