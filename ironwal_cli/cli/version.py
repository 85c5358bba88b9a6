"""``ironwal --version``: the version, and which speed-ups this install runs with.

The C module (``spec/_walk.c``) is built by ``pip install`` only where a C compiler is there;
without it every walk runs in Python, with the same answers, slower (see README, "Set up").
The CRC-32 is ISA-L's (``isal``) and key routing's SipHash-1-3 is ``siphash24``'s, each where
its package imports, else a fallback with the same answers (zlib's CRC, SipHash in Python).
Nothing else would tell a user which they have, so the version says it.
"""

from __future__ import annotations

import platform
from importlib import metadata

# The libraries whose versions change what ironwal does or how fast it does it.
LIBRARIES = ("typer", "rich", "lz4", "construct", "crcmod", "isal", "siphash24")  # typer bundles its own click


def native_status() -> str:
    """One line: whether the C speed-up is built, and where it is."""
    from ..spec.native import NATIVE

    if NATIVE is None:
        return ("C speed-up (ironwal_cli.spec._walk): not built, the Python walks run instead (same answers, "
                "slower; install a C compiler and run pip install again to build it)")
    from ..spec.native import crc_in_c

    crc = ("verify's frame walk calls ISA-L's CRC from C" if crc_in_c()
           else "verify's frame walk in Python (no ISA-L for C to call)")
    return f"C speed-up (ironwal_cli.spec._walk): built ({NATIVE.__file__}); {crc}"


def library_status() -> str:
    """Two lines: which CRC-32 and which SipHash-1-3 run (a C library, or the fallback)."""
    from ..sharded.routing import SIPHASH_IMPLEMENTATION
    from ..spec.crc import CRC_IMPLEMENTATION

    crc = ("isal (ISA-L, C)" if CRC_IMPLEMENTATION == "isal"
           else "zlib (isal not importable: same values, slower on large buffers)")
    sip = ("siphash24 (C)" if SIPHASH_IMPLEMENTATION == "siphash24"
           else "Python (siphash24 not importable: same shards, slower)")
    return f"CRC-32: {crc}\nSipHash-1-3 (key routing): {sip}"


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def version_text() -> str:
    from .. import __version__

    libraries = ", ".join(f"{name} {_installed(name)}" for name in LIBRARIES)
    return (f"ironwal {__version__} (IronWal 0.6 format)\n{native_status()}\n{library_status()}\n"
            f"Python {platform.python_version()} ({platform.python_implementation()}); {libraries}\n")
