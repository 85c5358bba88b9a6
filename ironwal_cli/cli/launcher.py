"""The ``ironwal`` console script (a launcher: "entry" means a WAL entry everywhere else): it
registers only the command being run, then runs the app.

typer builds every registered command (signature, options, help) at each start, so start-up
would grow with each command added. Here the first argument picks the one module that
defines the command; anything else (``--help``, a typo, a command missing from the table)
takes the full app of ``cli.main``, so nothing behaves differently, it only starts sooner.
A test checks the table against the full app. ``append`` goes further: its plain command lines
are read without typer at all (``quick_append``).
"""

from __future__ import annotations

import sys
from importlib import import_module

from .argv import hoist_root

# command name -> module of ironwal_cli.cli that registers it
COMMAND_MODULES = {
    "append": "append",
    "tail": "read",
    "get": "read",
    "ls": "ls",
    "verify": "verify",
    "inspect": "inspect",
    "recover": "recover",
    "checkpoint": "checkpoint",
    "prune": "prune",
    "stats": "stats",
    "copy": "copy",
    "backup": "backup",
    "restore": "restore",
}


def main() -> None:
    args = hoist_root(sys.argv[1:])
    if args and args[0] == "append":  # the plain command lines of a bulk append, without typer
        from .quick_append import run_quick

        run_quick(args[1:])  # returns only for a command line typer must read
    module = COMMAND_MODULES.get(args[0]) if args else None
    if module is None:
        from .main import main as full_main

        full_main()
        return
    import_module(f".{module}", __package__)
    from ._app import app, run

    run(app)
