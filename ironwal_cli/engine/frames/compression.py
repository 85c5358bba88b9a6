"""LZ4 frame payloads, with the flags the crate's lz4_flex FrameEncoder uses.

lz4 is imported on first use only: appends without compression never pay for it.
"""

from __future__ import annotations

KIB = 1024


class LengthMismatchError(ValueError):
    """A valid LZ4 frame that decodes to another length than the header's ``uncompressed_size``."""


def block_size_for(raw_length: int) -> int:
    """lz4_flex's automatic block size: the smallest of 64 KiB, 256 KiB, 4 MiB that holds the batch."""
    import lz4.frame as lz4f

    if raw_length <= 64 * KIB:
        return lz4f.BLOCKSIZE_MAX64KB
    if raw_length <= 256 * KIB:
        return lz4f.BLOCKSIZE_MAX256KB
    return lz4f.BLOCKSIZE_MAX4MB


# liblz4's one-shot compress lowers the block size to the smallest that holds its input, so a
# batch of 256 KiB..1 MiB would get 1 MiB (BD 0x60) where lz4_flex keeps 4 MiB (0x70); its
# streaming API writes the block size it is given. Only that range needs it (it costs a few us).
_ONE_SHOT_LOWERS_TO_1MIB = 1024 * KIB


def compress(raw: bytes) -> bytes:
    """A standard LZ4 frame, FLG 0x60 (independent blocks, no checksums, no content size) and
    the BD byte lz4_flex writes for that size: 0x40, 0x50 or 0x70 (FORMAT.md, "LZ4 frames")."""
    import lz4.frame as lz4f

    block_size = block_size_for(len(raw))
    if block_size == lz4f.BLOCKSIZE_MAX4MB and len(raw) <= _ONE_SHOT_LOWERS_TO_1MIB:
        encoder = lz4f.LZ4FrameCompressor(block_size=block_size, block_linked=False,
                                          content_checksum=False, auto_flush=True)
        return encoder.begin() + encoder.compress(raw) + encoder.flush()
    return lz4f.compress(raw, block_size=block_size, block_linked=False,
                         content_checksum=False, store_size=False)


MAX_FRAME_ENV = "IRONWAL_MAX_FRAME_BYTES"
DEFAULT_MAX_FRAME = 128 << 20  # decoded bytes of one LZ4 frame: twice the crate's default segment size
_STEP = 4 << 20  # decoded a few MiB per call: memory grows with what the payload really holds


def max_frame_bytes() -> int:
    """The most one LZ4 frame may decode to (``IRONWAL_MAX_FRAME_BYTES``, default 128 MiB): a header
    is only a claim, and a 4 MB payload can decode to 1 GiB (a decompression bomb)."""
    import os

    try:
        return max(int(os.environ.get(MAX_FRAME_ENV, DEFAULT_MAX_FRAME)), 0)
    except ValueError:
        return DEFAULT_MAX_FRAME


def _decode(payload, cap: int) -> tuple[bytes | bytearray, object]:
    """Decode the LZ4 frame ``payload`` a few MiB at a time, stopping at its end mark or once ``cap``
    bytes are out: (bytes out, the decompressor). ValueError when it is invalid or ends early.

    A frame of at most a few MiB (every batch the crate or ironwal writes by default) is decoded by
    one call whose bytes are handed back as they are: no copy into a growing buffer, which cost
    about as much as the decoding itself for 100 KB batches."""
    import lz4.frame as lz4f

    try:
        d = lz4f.LZ4FrameDecompressor()
        out = d.decompress(bytes(payload), max_length=min(_STEP, cap))
        while not d.eof and len(out) < cap:
            if d.needs_input:
                raise ValueError("LZ4 frame ends early (no end mark)")
            if type(out) is bytes:  # a frame past _STEP: grown in place from here
                out = bytearray(out)
            out += d.decompress(b"", max_length=min(_STEP, cap - len(out)))
    except RuntimeError as err:  # lz4 reports bad frames as RuntimeError
        raise ValueError(f"invalid LZ4 frame: {err}") from None
    return out, d  # not copied to bytes: that would double the peak (every caller takes a bytes-like)


def _ratio_cap(payload) -> int:
    """The most LZ4 can expand ``payload`` to (255 bytes per byte of input, plus a header's worth)."""
    return 255 * len(payload) + 64


def decompress(payload, expected_size: int) -> bytes | bytearray:
    """Decode an LZ4 frame; ValueError if it is invalid, has bytes after its end mark, or does not
    decode to ``expected_size`` bytes.

    Bounded whatever the bytes claim: a header claiming more than ``max_frame_bytes()`` is refused
    before anything is decoded, and decoding goes a few MiB at a time and stops one byte past
    ``expected_size`` (and past what LZ4's maximum ratio allows for the bytes present), so a bomb
    that lies about its size costs at most that, never what it would expand to.
    """
    limit = max_frame_bytes()
    if expected_size > limit:
        raise ValueError(f"uncompressed_size {expected_size} is more than the {limit} bytes ironwal decodes "
                         f"from one frame ({MAX_FRAME_ENV} raises it)")
    cap = min(expected_size, _ratio_cap(payload)) + 1
    out, d = _decode(payload, cap)
    if len(out) != expected_size:
        raise LengthMismatchError(f"LZ4 payload decodes to {len(out)}{'+' if len(out) >= cap else ''} bytes, "
                                  f"header says {expected_size}")
    if d.unused_data:
        raise ValueError(f"{len(d.unused_data)} bytes after the LZ4 end mark")
    return out


def decompress_unsized(payload) -> bytes | bytearray | None:
    """What an LZ4 frame decodes to whatever a header says (recover's check of a damaged header), or
    None when it is invalid, has bytes after its end mark, or would pass ``max_frame_bytes()``."""
    cap = min(max_frame_bytes(), _ratio_cap(payload)) + 1
    try:
        out, d = _decode(payload, cap)
    except ValueError:
        return None
    return out if d.eof and not d.unused_data and len(out) < cap else None
