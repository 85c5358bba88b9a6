"""Coverage-guided fuzzing of the parsers with atheris (optional; not part of the pytest run).

    pip install atheris && python tests/fuzz/atheris_parsers.py -max_total_time=60

It starts from the small files of the hostile corpus (hostile_corpus.py) unless given a corpus
directory of its own.

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


def with_seed_corpus(argv: list[str]) -> list[str]:
    """argv with a corpus directory holding the hostile corpus's small files (hostile_corpus.py), when
    none is given: libFuzzer starts from them instead of from nothing."""
    if any(not a.startswith("-") for a in argv[1:]):
        return argv
    import tempfile
    from pathlib import Path

    from hostile_corpus import small_seeds

    seeds = Path(tempfile.mkdtemp(prefix="ironwal-seeds-"))
    for i, data in enumerate(small_seeds()):
        (seeds / f"seed-{i:03d}").write_bytes(data)
    return [*argv, str(seeds)]


if __name__ == "__main__":
    atheris.Setup(with_seed_corpus(sys.argv), one_input)
    atheris.Fuzz()
