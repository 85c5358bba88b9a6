"""tests/interop/: the real crate (``../shared/refcrate/iwref``) as the oracle.

Where the crate's driver is absent (a fresh clone without ``../shared``) these tests are not
collected, and the one test of ``test_oracle_present.py`` skips with the reason in one line.
At the end of a run that went through the damage matrix, a table says per damage kind what the
crate's replay delivered before ``ironwal recover``, after it, and how many entries recover kept.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest
from crate_oracle import DAMAGE_TABLE_ENV, iwref_present

collect_ignore_glob = [] if iwref_present() else ["test_[!o]*.py"]


def pytest_configure(config) -> None:
    """One table file per run, named in the environment so xdist workers (spawned later) share it."""
    if DAMAGE_TABLE_ENV not in os.environ and not hasattr(config, "workerinput"):
        fd, path = tempfile.mkstemp(prefix="ironwal-damage-", suffix=".jsonl")
        os.close(fd)
        os.environ[DAMAGE_TABLE_ENV] = path
        config._ironwal_damage_table = path


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    path = getattr(config, "_ironwal_damage_table", None)
    if path is None:
        return
    try:
        with open(path) as f:
            rows = sorted((json.loads(line) for line in f if line.strip()), key=lambda r: r["kind"])
    finally:
        os.unlink(path)
    if not rows:
        return
    width = max(len(r["kind"]) for r in rows)
    terminalreporter.section("crate replay per damage kind (entries from iter(0))")
    terminalreporter.write_line("N: entries the crate's iter(0) delivered; ', then error at I': it failed loudly "
                                "there; a bare N below what is kept: it ended silently")
    terminalreporter.write_line(f"{'damage':<{width}}  {'before recover':<24}  {'after recover':<24}  kept")
    for r in rows:
        terminalreporter.write_line(f"{r['kind']:<{width}}  {r['before']:<24}  {r['after']:<24}  {r['kept']}")


@pytest.fixture
def crate() -> None:
    """Marks a test that needs the crate; skips where it is absent (never reached when collection
    already ignored the module, kept for tests that live elsewhere)."""
    if not iwref_present():
        pytest.skip("the real crate's driver ../shared/refcrate/iwref is absent")
