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


def decompress(payload, expected_size: int) -> bytes:
    """Decode an LZ4 frame; ValueError if it is invalid or does not decode to ``expected_size`` bytes.

    Output is capped just past ``expected_size`` (a header cannot make us allocate more than
    LZ4's maximum ratio allows for the bytes actually present).
    """
    import lz4.frame as lz4f

    cap = min(expected_size, 255 * len(payload) + 64) + 1
    try:
        d = lz4f.LZ4FrameDecompressor()
        out = d.decompress(bytes(payload), max_length=cap)
        if not d.eof and len(out) < cap:
            raise ValueError("LZ4 frame ends early (no end mark)")
    except RuntimeError as err:  # lz4 reports bad frames as RuntimeError
        raise ValueError(f"invalid LZ4 frame: {err}") from None
    if len(out) != expected_size:
        raise LengthMismatchError(f"LZ4 payload decodes to {len(out)}{'+' if len(out) >= cap else ''} bytes, "
                         f"header says {expected_size}")
    return out
