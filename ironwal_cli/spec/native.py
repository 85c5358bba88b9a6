"""The optional C module, ``_walk.c``: pip builds it at install when a C compiler is there.

``NATIVE`` is the module, or None where it was not built. Each function of it has a Python twin
beside its caller that gives the same answers (property tests compare each pair), so whether
it was built changes speed only: the walks over length prefixes and frame headers, a few ns
per step in C, ~0.1-0.5 us in Python, and the bulk append's encoder of input records
(``spec/records.py``), which makes no Python object per record.
"""

from __future__ import annotations

try:
    from . import _walk as NATIVE
except ImportError:  # not built: every caller falls back to its Python twin
    NATIVE = None
