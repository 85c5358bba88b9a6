"""The one test that stands for the whole folder where the crate's driver is absent."""

from __future__ import annotations

import pytest
from crate_oracle import IWREF, dump, iwref_present, run_iwref


def test_the_crate_driver_runs_and_reads_an_ironwal_root(tmp_path):
    if not iwref_present():
        pytest.skip(f"tests/interop: the real crate's driver is absent ({IWREF}); crate tests not run")
    assert b"ironwal 0.6.3" in run_iwref("help").stdout + run_iwref("help").stderr
    from ironwal_cli.ops.append import append_values

    append_values(tmp_path / "r", "s", [b"a", b"", b"\n\x00"])
    replay = dump(tmp_path / "r")
    assert replay.opened
    assert replay.streams["s"].entries == {0: b"a", 1: b"", 2: b"\n\x00"}
    assert replay.streams["s"].error is None
