"""``ironwal --version``: the version, and which optional speed-ups this install runs with.

The C module (``spec/_walk.c``) is built by ``pip install`` only where a C compiler is there;
without it every walk runs in Python, with the same answers, slower (see README, "Set up").
Nothing else would tell a user which of the two they have, so the version says it.
"""

from __future__ import annotations

import platform
from importlib import metadata

# The libraries whose versions change what ironwal does or how fast it does it.
LIBRARIES = ("typer", "rich", "lz4", "construct", "crcmod")  # typer bundles its own click


def native_status() -> str:
    """One line: whether the C speed-up is built, and where it is."""
    from ..spec.native import NATIVE

    if NATIVE is None:
        return ("C speed-up (ironwal_cli.spec._walk): not built, the Python walks run instead (same answers, "
                "slower; install a C compiler and run pip install again to build it)")
    return f"C speed-up (ironwal_cli.spec._walk): built ({NATIVE.__file__})"


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def version_text() -> str:
    from .. import __version__

    libraries = ", ".join(f"{name} {_installed(name)}" for name in LIBRARIES)
    return (f"ironwal {__version__} (IronWal 0.6 format)\n{native_status()}\n"
            f"Python {platform.python_version()} ({platform.python_implementation()}); {libraries}\n")
