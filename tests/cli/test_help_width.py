"""Every ``--help`` reads well at 80 columns, through the real console script (issue 14.4).

Rendered with ``COLUMNS=80`` in a subprocess for every command and subcommand: no line is
longer than 80, no option name or environment variable is cut (``--min-compress-s…``), no
metavar is a type placeholder (``<str>``, ``<int range>``) and the usage line marks
arguments that repeat with ``...``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer.main

from ironwal_cli.cli.main import app


def _walk(command, path=()):
    if path:
        yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(typer.main.get_command(app)))


def render(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    env.update(COLUMNS="80", TERM="xterm")
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", *args, "--help"], capture_output=True, env=env,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return proc.stdout.decode()


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "ironwal")
def test_help_fits_80_columns_with_every_name_whole(path):
    text = render(*path)
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long
    assert "…" not in text
    command = COMMANDS.get(path)
    if command is None:
        return
    flat = " ".join(text.split())  # words wrapped onto the next line still count as whole
    for param in command.params:
        for flag in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            if param.param_type_name == "option":
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), f"{flag} cut or missing"
        env = getattr(param, "envvar", None)
        if isinstance(env, str):
            assert env in flat.replace("- ", "-"), f"{env} cut or missing"
    assert not re.search(r"<(str|int|float|int range|float range|path)>", text), "a type placeholder as metavar"
    usage = text.splitlines()[0]
    for param in command.params:
        if param.param_type_name == "argument" and param.nargs == -1:
            assert re.search(rf"\b{re.escape(param.human_readable_name.strip('.'))}\.\.\.", usage), usage
        if param.param_type_name == "argument" and param.required:
            assert "{" not in usage, usage


def test_append_help_shows_sizes_as_size_and_repeated_values():
    text = render("append")
    assert text.splitlines()[0] == "Usage: ironwal append [OPTIONS] [STREAM] [VALUE...]"
    assert re.search(r"--max-segment-size SIZE\b", text) and re.search(r"--min-compress-size SIZE\b", text)
    assert "IRONWAL_MIN_COMPRESS_SIZE" in text and "--max-entries-per-segment N" in text


def test_paragraphs_are_rewrapped_not_broken_where_the_source_broke_them():
    """Docstring lines are joined and refilled: no short ragged line in the middle of a paragraph."""
    lines = [line.strip(" │") for line in render("recover").splitlines()]
    paragraphs, current = [], []
    for line in lines[1:]:
        if line.startswith(("Arguments", "Options", "╭")):
            break
        if line:
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    assert len(paragraphs) >= 2
    for paragraph in paragraphs:
        assert all(len(line) > 50 for line in paragraph[:-1]), paragraph
