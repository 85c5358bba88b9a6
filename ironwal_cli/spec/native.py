"""The optional C module, ``_walk.c``: pip builds it at install when a C compiler is there.

Wired in one place, the way dulwich wires its ``_pack``: a Python function that has a C twin is
decorated with ``c_twin``, which gives back the C function of the same name (same arguments, same
answers) when the module was built, else the Python function itself. Callers never choose; whether
it was built changes speed only (a few ns per step in C, ~0.1-0.5 us in Python; the bulk append's
record encoder, ``spec/records.py``, and keyed routing, ``sharded/routed_records.py``, make no
Python object per record). Every pair is kept in ``TWINS``, where the property tests find both
functions to hold them equal. A C function may take leading arguments of the spec the Python one
reads itself (the length prefix's size): ``c_twin`` binds them.

``NATIVE`` is the module, or None where it was not built; the layouts its walks read are the
spec's (``codec.CHAIN_LAYOUT``, by field name, and ``codec.ENTRY_LENGTH``), and the header
walk's read-ahead rule ``read_ahead.READ_AHEAD``, handed over before the first twin is used, with
the CRC function ``spec/crc.py`` chose (``crc.c_function``: ISA-L's, by name in the isal package's
own extension). A twin that checks CRCs (``crc=True``) is taken only where C found that function:
C has no CRC of its own, so it is never slower than the Python twin calling ISA-L.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple, TypeVar

try:
    from . import _walk as NATIVE
except ImportError:  # not built: every caller gets the Python twin
    NATIVE = None

F = TypeVar("F", bound=Callable)


class Twin(NamedTuple):
    python: Callable
    c: Callable | None  # None where the module was not built


TWINS: dict[str, Twin] = {}  # "module.function" -> its two implementations
_configured = False
CRC_IN_C = False  # whether the C module calls the process's CRC (spec/crc.py c_function) itself


def _configure() -> None:
    """Give the C module the spec's layouts and the CRC function (once; the spec is loaded by the
    time a twin is made)."""
    global _configured, CRC_IN_C
    from .codec import CHAIN_LAYOUT, ENTRY_LENGTH
    from .crc import c_function
    from .read_ahead import READ_AHEAD

    CRC_IN_C = NATIVE.configure(CHAIN_LAYOUT, ENTRY_LENGTH.format, READ_AHEAD, c_function())
    _configured = True


def crc_in_c() -> bool:
    """Whether the C module calls the process's CRC function itself (``CRC_IN_C``, known once configured)."""
    if NATIVE is not None and not _configured:
        _configure()
    return CRC_IN_C


def c_twin(python_function: F, *spec_args, crc: bool = False) -> F:
    """The C function named like ``python_function`` when the module was built (with ``spec_args``
    bound first, when given), else ``python_function``; the pair is recorded in ``TWINS`` either way.
    With ``crc`` the C function checks CRCs: it is taken only when it calls the process's own CRC
    function (``CRC_IN_C``), never a slower one of its own."""
    c = getattr(NATIVE, python_function.__name__, None) if NATIVE is not None else None
    if c is not None and not _configured:
        _configure()
    if crc and not crc_in_c():
        c = None
    if c is not None and spec_args:
        c = partial(c, *spec_args)
    TWINS[f"{python_function.__module__}.{python_function.__name__}"] = Twin(python_function, c)
    return c if c is not None else python_function  # type: ignore[return-value]


def twin(qualified_name: str) -> Twin:
    """The pair recorded for ``module.function`` (tests compare the two)."""
    return TWINS[qualified_name]
