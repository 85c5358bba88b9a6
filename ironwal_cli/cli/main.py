"""Entry point of the ``ironwal`` console script: registers the commands and runs the app."""

from __future__ import annotations

from . import append, checkpoint, inspect, ls, prune, read, recover, verify  # noqa: F401  (each module registers its commands)
from ._app import app


def main() -> None:
    app()
