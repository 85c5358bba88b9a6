"""Coverage-guided fuzzing of the parsers with atheris (optional; not part of the pytest run).

    pip install atheris && python tests/fuzz/atheris_parsers.py -max_total_time=60

Any exception other than the package's own (or ValueError from the small-file decoders)
is a crash atheris reports with the input that caused it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from ironwal_cli.engine.reader import decode_frame
    from ironwal_cli.engine.scan import Frame, scan
    from ironwal_cli.errors import FormatError
    from ironwal_cli.spec.codec import decode_checkpoint_payload, decode_head, decode_head_state, decode_index


def one_input(data: bytes) -> None:
    for item in scan(data):
        if isinstance(item, Frame):
            try:
                decode_frame(Path("fuzz"), item.offset, item.header, item.payload)
            except FormatError:
                pass
    for decode in (decode_index, decode_head_state, decode_head, decode_checkpoint_payload):
        try:
            decode(data)
        except ValueError:
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
