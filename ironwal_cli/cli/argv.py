"""``-r/--root`` before the command: ``ironwal -r ROOT tail s`` means ``ironwal tail -r ROOT s``.

Every command has its own ``-r/--root`` (click options belong to one command), so the root
given before the command is moved to just after the command path, where that command's own
option reads it. A root given after the command as well comes later and wins, as a repeated
option does; both beat ``IRONWAL_ROOT``. Nothing after the command path moves, so values
after ``--`` stay values.
"""

from __future__ import annotations

ROOT_FLAGS = ("-r", "--root")
GROUPS = frozenset({"checkpoint", "backup"})  # commands whose first argument names a subcommand (a test checks)


def hoist_root(args: list[str]) -> list[str]:
    """``args`` (without the program name) with leading root options moved after the command path."""
    moved: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ROOT_FLAGS and i + 1 < len(args):
            moved += args[i:i + 2]
            i += 2
        elif arg.startswith("--root=") or (arg.startswith("-r") and len(arg) > 2 and not arg.startswith("--")):
            moved.append(arg)
            i += 1
        else:
            break
    rest = args[i:]
    if not moved or not rest or rest[0].startswith("-"):
        return args  # no root to move, or nothing to move it to: click says what is wrong
    path = 2 if rest[0] in GROUPS and len(rest) > 1 and not rest[1].startswith("-") else 1
    return rest[:path] + moved + rest[path:]
