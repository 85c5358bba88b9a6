"""Entry point of the ``ironwal`` console script: registers the commands and runs the app."""

from __future__ import annotations

# Each module registers its commands on import.
from . import append, backup, checkpoint, copy, inspect, ls, prune, read, recover, restore, stats, verify  # noqa: F401
from ._app import app, run


def main() -> None:
    run(app)
