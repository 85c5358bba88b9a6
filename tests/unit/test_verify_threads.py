"""Threads never change what verify reports: the same problems, in the same order, with the same totals.

Segments of several streams are checked side by side (the next streams' segments are queued
before the current stream is merged); these tests damage roots at random and compare every
thread count against the serial run.
"""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_support import EDITS, damage_bytes, segments

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root

STREAMS = ("a", "b", "c", "d")


def mixed_batch(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(rng.randint(0, 300)) for _ in range(n)]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Four streams: two of many small segments, two of one segment; entries of mixed lengths."""
    root = tmp_path_factory.mktemp("threads") / "root"
    rng = random.Random(11)
    for name, limit in zip(STREAMS, (1000, 64 << 20, 2000, 64 << 20), strict=True):
        with StreamWriter(root, name, WriteOptions(sync="async", max_segment_size=limit)) as w:
            for _ in range(8):
                w.append_batch(mixed_batch(rng, rng.randint(1, 12)))
    assert len(segments(root / "a")) > 3 and len(segments(root / "b")) == 1
    assert verify_root(root, jobs=1).ok
    return root


def _files(root):
    return sorted(p for name in STREAMS for p in segments(root / name))


damage = st.lists(st.tuples(st.integers(0, 1 << 16), st.sampled_from((*EDITS, "remove")), st.integers(0, 1 << 20),
                            st.binary(min_size=1, max_size=40)), min_size=1, max_size=5)


def _apply(root, edits) -> None:
    """Each edit damages one segment file of the root (or removes it)."""
    for which, op, at, blob in edits:
        files = _files(root)
        if not files:
            return
        path = files[which % len(files)]
        if op == "remove":
            path.unlink()
        else:
            path.write_bytes(damage_bytes(path.read_bytes(), [(op, at, blob)]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage)
def test_thread_counts_report_the_same_as_the_serial_run(template, tmp_path, edits):
    root = tmp_path / "r"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template, root)
    _apply(root, edits)
    serial = verify_root(root, jobs=1)
    for jobs in (2, 3):
        assert verify_root(root, jobs=jobs) == serial
    assert verify_root(root, ["c", "a"], jobs=2) == verify_root(root, ["c", "a"], jobs=1)


def test_many_one_segment_streams_keep_their_order(tmp_path):
    """Problems of later streams never come before those of earlier ones, however the threads ran."""
    root = tmp_path / "r"
    rng = random.Random(5)
    names = [f"s{k:02d}" for k in range(12)]
    for name in names:
        with StreamWriter(root, name, WriteOptions(sync="async")) as w:
            w.append_batch(mixed_batch(rng, 20))
        with open(segments(root / name)[0], "ab") as f:
            f.write(b"trailing")
    report = verify_root(root, jobs=4)
    assert [p.path.split("/")[0] for p in report.problems] == names
    assert list(report.streams) == names
    assert report == verify_root(root, jobs=1)
