"""Coverage-guided fuzzing of the parsers with atheris (optional; not part of the pytest run).

    pip install atheris && python tests/fuzz/atheris_parsers.py -max_total_time=60

Any exception other than the package's own (or ValueError from the small-file decoders)
is a crash atheris reports with the input that caused it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():  # the package, imported by the targets, is what gets instrumented
    from parser_targets import decode_as_small_files, decode_every_frame


def one_input(data: bytes) -> None:
    decode_every_frame(data)
    decode_as_small_files(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
