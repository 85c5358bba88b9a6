"""SIGKILL a real ``ironwal append`` at random moments and at chosen points; check the invariants.

After every kill: every acknowledged id is readable with its bytes, nothing unsent appears,
ids are contiguous, verify agrees with the reader, and damage is only a torn tail of the last
segment, which ``ironwal recover`` (then verify clean) or the next ``append`` repairs.
IRONWAL_LONG_TESTS=1 multiplies the number of kills by 20.
"""

from __future__ import annotations

import zlib

import pytest
from kill_harness import KillCampaign
from wal_invariants import LONG

SCALE = 20 if LONG else 1

POINTS = ["frame-header", "frame-half", "before-sync", "rotate-before-seal", "rotate-before-index",
          "rotate-before-head", "atomic-before-rename"]


def _report(record_property, campaign: KillCampaign) -> None:
    record_property("count:kills", campaign.kills)
    record_property("count:entry reads checked after kills (all re-read after each kill)", campaign.entries_checked)
    record_property("count:recover runs after kills", campaign.recovered)
    record_property("count:torn tails left to the next append after kills", campaign.appender_repairs)
    record_property("count:seals checked against their segments after kills", campaign.seals_checked)


@pytest.mark.parametrize("sync", ["strict", "batch", "async"])
@pytest.mark.parametrize("part", [0, 1])
def test_random_kills(fast_tmp, record_property, sync, part):
    campaign = KillCampaign(fast_tmp / "wal", sync, seed=zlib.crc32(f"{sync}{part}".encode()))
    for _ in range(40 * SCALE):
        campaign.one()
    _report(record_property, campaign)
    assert campaign.kills >= 33 * SCALE  # a run that ends before its kill moment is no kill


@pytest.mark.parametrize("sync", ["strict", "batch"])
@pytest.mark.parametrize("point", POINTS)
def test_kills_at_chosen_points(fast_tmp, record_property, sync, point):
    campaign = KillCampaign(fast_tmp / "wal", sync, seed=len(point), max_segment="2k")
    # batch mode syncs once per group of batches that arrived together: few syncs per run
    visits = 1 if (point, sync) == ("before-sync", "batch") else 3
    for i in range(6 * SCALE):
        campaign.one(crash_at=f"{point}@{1 + i % visits}")
    _report(record_property, campaign)
    assert campaign.kills == 6 * SCALE
    if point.startswith("rotate"):
        assert campaign.seals_checked > 0  # the kills landed where seals are written
