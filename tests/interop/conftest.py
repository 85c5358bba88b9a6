"""tests/interop/: the real crate (``../shared/refcrate/iwref``) as the oracle.

Where the crate's driver is absent (a fresh clone without ``../shared``) these tests are not
collected, and the one test of ``test_oracle_present.py`` skips with the reason in one line.
The damage matrix's table (per damage kind: what the crate's replay delivered before ``ironwal
recover``, after it, and the entries recover kept) is printed at the end of the run by
``tests/conftest.py`` (``row:`` properties), which the xdist controller loads, unlike this file.
"""

from __future__ import annotations

import pytest
from crate_oracle import iwref_present

collect_ignore_glob = [] if iwref_present() else ["test_[!o]*.py"]


@pytest.fixture
def crate() -> None:
    """Marks a test that needs the crate; skips where it is absent (never reached when collection
    already ignored the module, kept for tests that live elsewhere)."""
    if not iwref_present():
        pytest.skip("the real crate's driver ../shared/refcrate/iwref is absent")
