"""``-r/--root`` before the command name, as people type it: ``ironwal -r ROOT tail s``."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.cli.argv import GROUPS, hoist_root
from ironwal_cli.cli.launcher import COMMAND_MODULES


def ironwal(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *map(os.fspath, args)], capture_output=True,
                          env={**os.environ, **(env or {})})


def test_groups_are_the_apps_command_groups():
    from ironwal_cli.cli.main import app

    assert GROUPS == {group.name for group in app.registered_groups}


def test_root_before_the_command_reaches_it(tmp_path):
    root = tmp_path / "w"
    assert ironwal("-r", root, "append", "s", "a", "b").stdout == b"0\n1\n"
    assert ironwal("--root", root, "tail", "s").stdout == b"a\nb\n"
    assert ironwal(f"--root={root}", "get", "s", "1").stdout == b"b\n"
    assert ironwal(f"-r{root}", "ls", "--json").returncode == 0
    assert (root / "s").is_dir() and not (tmp_path / "wal_data").exists()


def test_precedence_after_the_command_then_before_then_environment(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ironwal("append", "s", "in-a", "-r", a)
    ironwal("append", "s", "in-b", "-r", b)
    assert ironwal("-r", a, "tail", "s", "-r", b).stdout == b"in-b\n"
    assert ironwal("-r", a, "tail", "s", env={"IRONWAL_ROOT": os.fspath(b)}).stdout == b"in-a\n"


def test_values_after_double_dash_stay_values(tmp_path):
    root = tmp_path / "w"
    assert ironwal("-r", root, "append", "s", "--", "-r", "--root=x").stdout == b"0\n1\n"
    assert ironwal("-r", root, "tail", "s").stdout == b"-r\n--root=x\n"


def test_subcommand_of_a_group_gets_the_root(tmp_path):
    root = tmp_path / "w"
    missing = ironwal("-r", root, "checkpoint", "list")
    assert missing.returncode == 6 and f"{root}: no such WAL root".encode() in missing.stderr
    ironwal("-r", root, "append", "s", "v")
    listed = ironwal("-r", root, "checkpoint", "list")
    assert listed.returncode == 0 and listed.stdout.startswith(b"id\t"), listed.stderr


def test_a_root_with_no_command_is_one_usage_line(tmp_path):
    result = ironwal("-r", tmp_path)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and result.stderr.startswith(b"ironwal: error:")


commands = st.sampled_from([*COMMAND_MODULES, "checkpoint"])
words = st.text(st.characters(codec="ascii", exclude_characters="\0"), max_size=8)
roots = st.lists(st.one_of(st.tuples(st.sampled_from(["-r", "--root"]), words).map(list),
                           words.map(lambda w: [f"--root={w}"])), max_size=3)


@settings(max_examples=300, deadline=None)
@given(roots, commands, st.lists(words, max_size=6))
def test_hoist_moves_only_the_leading_roots(root_args, command, rest):
    leading = [a for pair in root_args for a in pair]
    args = [*leading, command, *rest]
    out = hoist_root(args)
    assert sorted(out) == sorted(args)  # nothing lost, nothing added
    assert out[0] == command
    path = 2 if command in GROUPS and rest and not rest[0].startswith("-") else 1
    assert out[:path] == args[len(leading):len(leading) + path]
    assert out[path:path + len(leading)] == leading  # in their order, right after the command path
    assert out[path + len(leading):] == args[len(leading) + path:]  # everything after it unmoved
