"""Every case of the hostile corpus (hostile_corpus.py), planted in a root, run through every
reader: no hang (a timeout per command), no traceback, an exit code of the table, peak RSS under
300 MB (getrusage of the child), and damage reported by verify as damage (issue 17 items 4-9, 13,
15; issue 14 item 7). A new hostile file found later goes into the corpus, and CI runs it here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hostile_corpus import CASES, SEGMENT0, Case, small_seeds
from hostile_run import assert_orderly, bounded
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_targets import decode_as_small_files, decode_every_frame
from wal_invariants import FUZZ_EXAMPLES

from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import EXIT_NOT_FOUND

NOT_FOUND = EXIT_NOT_FOUND  # "no entry", "no such stream": an orderly answer to a hostile root too
COMMANDS = {  # name -> (arguments after the root, allowed exit codes)
    "ls": (["ls"], {0, 1, 3, NOT_FOUND}),
    "tail": (["tail", "{stream}"], {0, 1, 3, NOT_FOUND}),
    "get": (["get", "{stream}", "0"], {0, 1, 3, NOT_FOUND}),
    "verify": (["verify", "--json"], {0, 1}),
    "inspect": (["inspect", "{file}"], {0, 1, 2, 3, NOT_FOUND}),
    "recover-n": (["recover", "-n"], {0, 1, 3, NOT_FOUND}),
    "recover": (["recover"], {0, 1, 3, NOT_FOUND}),
    "append": (["append", "{stream}", "x"], {0, 1, 2, 3, NOT_FOUND}),
}


# A real recover of a big planted file writes all of it to the quarantine (the rule: every byte a
# repair removes is kept), so it runs for one file of each reader: a stream's small file, a
# segment, the checkpoint log and HEAD; the other big cases run `recover -n`.
REAL_RECOVER_OF_BIG_FILES = {"index-big", "segment-320mib-zeros", "checkpoints-320mib", "head-big"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[bool, Path]:
    base = tmp_path_factory.mktemp("corpus")
    plain = base / "plain"
    with StreamWriter(plain, "s") as w:
        w.append_batch([b"a", b"b", b"c"])
    sharded = base / "sharded"
    for args in (["append", "--shards", "2", "--key", "k", "v"], ["checkpoint", "create", "c1", "--shards", "2"]):
        assert bounded(*args, "-r", sharded).returncode == 0
    return {False: plain, True: sharded}


def planted(sources: dict[bool, Path], tmp_path: Path, case: Case) -> Path:
    root = tmp_path / "wal"
    shutil.copytree(sources[case.sharded], root, symlinks=True)
    path = root / case.where
    if path.exists():
        path.unlink()
    if case.where.startswith("s/") and path.name != SEGMENT0 and case.file_name.endswith(".wal"):
        (root / "s" / SEGMENT0).unlink()  # a segment of another name stands alone
    case.build(path)
    return root


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_reader_on_every_hostile_file(sources, tmp_path, case, record_property):
    root = planted(sources, tmp_path, case)
    stream = "shard_00" if case.sharded else "s"
    big = (root / case.where).is_file() and (root / case.where).stat().st_size > 64 << 20
    for name, (args, codes) in COMMANDS.items():
        if name == "recover" and big and case.name not in REAL_RECOVER_OF_BIG_FILES:
            continue  # it copies every byte it removes to the quarantine: once per kind of file is enough
        args = [a.format(stream=stream, file=root / case.where) for a in args]
        run = bounded(*args, "-r", root, timeout=120)
        assert_orderly(run, codes)
        if name == "verify":
            problems = json.loads(run.stdout)["problems"]
            found = {p["kind"] for p in problems if p["path"] == case.where}
            assert (case.kind in found) if case.kind else not problems, (case.kind, problems[:5])
            assert run.returncode == (1 if case.kind else 0)
            assert len(run.stdout) < 64 << 10, "verify's report must stay short (repeated problems summarised)"
        record_property("count:hostile corpus runs", 1)


SEEDS = small_seeds()


def test_the_parsers_take_every_small_case():
    assert len(SEEDS) >= 10
    for data in SEEDS:
        decode_every_frame(data)
        decode_as_small_files(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8))
def test_the_parsers_take_mutated_cases(seed, edits):
    """The fuzz targets (also atheris's, which starts from these seeds) on the corpus, a few bytes changed."""
    data = bytearray(seed)
    for at, value in edits:
        if data:
            data[at % len(data)] = value
    decode_every_frame(bytes(data))
    decode_as_small_files(bytes(data))
