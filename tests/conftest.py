"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "format" / "samples"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty WAL root."""
    return tmp_path / "wal_data"
