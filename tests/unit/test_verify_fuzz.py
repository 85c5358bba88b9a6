"""Whatever the bytes, verify reports and never raises; any change to a segment is seen."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_support import EDITS, damage_bytes

from ironwal_cli.audit.kinds import KINDS
from ironwal_cli.engine.frames.scan import scan
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root

SEG = "s/00000000000000000000.wal"
edits = st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=40)),
                 min_size=1, max_size=4)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Raw frames of several sizes and an LZ4 frame, in one segment."""
    root = tmp_path_factory.mktemp("fuzz") / "root"
    with StreamWriter(root, "s", WriteOptions(sync="async")) as w:
        for k in range(6):
            w.append_batch([bytes([k + 1]) * (k * 300 + 5)] * 3)
    with StreamWriter(root, "s", WriteOptions(sync="async", compress=True)) as w:
        w.append_batch([b"compressible " * 200] * 2)
    assert verify_root(root).ok
    return root


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits)
def test_any_damage_is_reported_not_raised(template, tmp_path, edits_):
    root = tmp_path / "r"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template, root)
    original = (template / SEG).read_bytes()
    damaged = damage_bytes(original, edits_)
    (root / SEG).write_bytes(damaged)
    report = verify_root(root, jobs=1)  # must not raise
    for p in report.problems:
        assert p.kind in KINDS
        assert p.offset is None or 0 <= p.offset < len(damaged)
    # Every change is seen, except a cut that ends exactly between two frames.
    boundaries = {0} | {f.end_offset for f in scan(original)}  # an empty segment is a fresh one
    assert report.ok == any(damaged == original[:b] for b in boundaries)
