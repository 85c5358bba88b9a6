"""Every root the crate wrote verifies clean, except the two where the crate itself left damage."""

from __future__ import annotations

import pytest
from verify_support import CONFORMANCE, found, verify

DAMAGED = {
    # tp: the crate zero-padded a torn payload (frame of id 4), whose CRC now fails; th was cut cleanly.
    "torn-tail": [("tp/00000000000000000000.wal", 224, "bad_crc")],
    # key-collision: ids 0, 1, 0, 2, 0, 4 in one segment: two frames go backwards, the last skips id 3.
    "key-collision": [("user_123/00000000000000000000.wal", 104, "ids_backwards"),
                      ("user_123/00000000000000000000.wal", 208, "ids_backwards"),
                      ("user_123/00000000000000000000.wal", 270, "ids_skip")],
}
CASES = sorted(p.name for p in CONFORMANCE.iterdir() if (p / "root").is_dir())


def test_every_case_is_here():
    assert len(CASES) >= 17 and set(DAMAGED) <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_conformance_root(case):
    report = verify(CONFORMANCE / case / "root")  # verify() also asserts nothing was changed
    assert found(report) == DAMAGED.get(case, [])
    assert report.ok == (case not in DAMAGED)
    assert report.streams and all(t.segments >= 0 for t in report.streams.values())


def test_lz4_case_reports_its_ratio():
    totals = verify(CONFORMANCE / "lz4" / "root").streams
    assert any(t.lz4_frames and t.lz4_ratio > 1 for t in totals.values())
