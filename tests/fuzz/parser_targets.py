"""What every parser is fed in the fuzz tests (hypothesis, in test_fuzz_parsers.py) and in the
coverage-guided harness (atheris_parsers.py): each must answer with a value or the package's own
refusal, and anything else escapes from here as the crash the fuzzer reports."""

from __future__ import annotations

from pathlib import Path

from ironwal_cli.engine.frames.scan import Frame, scan
from ironwal_cli.engine.reader.reader import decode_frame
from ironwal_cli.errors import FormatError
from ironwal_cli.spec.codec import decode_checkpoint_payload, decode_head, decode_head_state, decode_index

SMALL_FILE_DECODERS = (decode_index, decode_head_state, decode_head, decode_checkpoint_payload)


def decode_every_frame(data: bytes) -> None:
    """Scan ``data`` as a segment and decode each frame the scanner calls intact."""
    for item in scan(data):
        if isinstance(item, Frame):
            try:
                decode_frame(Path("seg"), item.offset, item.header, item.payload)
            except FormatError:
                pass


def decode_as_small_files(data: bytes) -> None:
    """``data`` as segments.idx, head.state, HEAD and a checkpoint payload."""
    for decode in SMALL_FILE_DECODERS:
        try:
            decode(data)
        except ValueError:  # UnicodeDecodeError is one: the only refusal the callers expect
            pass
