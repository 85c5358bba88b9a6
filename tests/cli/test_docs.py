"""The documentation cannot drift from the code.

Walks the real command tree (typer -> click) and checks, for every command and every
subcommand of a group: its man page exists (a subcommand is documented in its group's page),
every option flag (long and short, ``--x/--no-x`` both), every argument and every environment
variable appears in that page and every flag and argument in ``--help``; ``man/ironwal.1``
names every command, every page, every environment variable and the exit codes of
``errors.py``. And the two set-up commands of README.md still work and match ``.ci/run``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from ironwal_cli import errors
from ironwal_cli.cli.main import app

REPO = Path(__file__).resolve().parents[2]
MAN = REPO / "man"
MAIN_PAGE = MAN / "ironwal.1"
REQUIRED_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO")


def _walk(command, path: tuple[str, ...] = ()):
    """(path, command) for every command of the tree, groups included, the root excluded."""
    if path:
        yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = dict(_walk(ROOT_COMMAND))
TOP_LEVEL = sorted({path[0] for path in COMMANDS})


def roff_to_text(source: str) -> str:
    """Roff source with the escapes that hide plain words undone: ``\\-``, font changes, ``\\&``."""
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", source)
    for escape, plain in (("\\-", "-"), ("\\(hy", "-"), ("\\(en", "-"), ("\\&", ""), ("\\e", "\\")):
        text = text.replace(escape, plain)
    return text


def section(text: str, name: str) -> str:
    """The body of ``.SH NAME`` up to the next ``.SH``."""
    m = re.search(rf'^\.SH "?{re.escape(name)}"?\s*$(.*?)(?=^\.SH |\Z)', text, re.M | re.S)
    assert m, f"section {name} missing"
    return m.group(1)


def page_for(path: tuple[str, ...]) -> Path:
    return MAN / f"ironwal-{path[0]}.1"


def page_text(path: tuple[str, ...]) -> str:
    page = page_for(path)
    assert page.is_file(), f"`ironwal {' '.join(path)}` has no man page {page.relative_to(REPO)}"
    return roff_to_text(page.read_text())


def flag_present(flag: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def flags(command) -> list[str]:
    out = []
    for param in command.params:
        if param.param_type_name == "option":
            out += [*param.opts, *param.secondary_opts]
    return out


def arguments(command) -> list[str]:
    """Each argument as a user reads it: its metavar, else its name in capitals."""
    return [(p.metavar or p.name).upper().strip(".") for p in command.params if p.param_type_name == "argument"]


def envvars(command) -> list[str]:
    out = []
    for param in command.params:
        env = getattr(param, "envvar", None)
        out += [env] if isinstance(env, str) else list(env or [])
    return out


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "240", "TERMINAL_WIDTH": "240"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\x1b\[[0-9;]*m", "", result.output)


IDS = [" ".join(p) for p in COMMANDS]


def test_the_tree_holds_the_core_commands():
    assert {("append",), ("tail",), ("get",), ("ls",)} <= set(COMMANDS)


def test_the_walk_reaches_subcommands_of_groups():
    demo = typer.Typer()
    group = typer.Typer()
    demo.command()(lambda: None)
    group.command("create")(lambda checkpoint_id: None)
    group.command("list")(lambda: None)
    demo.add_typer(group, name="checkpoint")
    paths = [p for p, _ in _walk(typer.main.get_command(demo))]
    assert ("checkpoint",) in paths and ("checkpoint", "create") in paths and ("checkpoint", "list") in paths
    assert page_for(("checkpoint", "create")).name == "ironwal-checkpoint.1"


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_man_page_documents_every_option_argument_and_env_var(path):
    command, text = COMMANDS[path], page_text(path)
    missing = [f for f in flags(command) if not flag_present(f, text)]
    missing += [a for a in arguments(command) if not re.search(rf"\b{re.escape(a)}\b", text)]
    missing += [e for e in envvars(command) if e not in text]
    assert not missing, f"{page_for(path).name} does not mention {missing}"
    if len(path) > 1:  # a subcommand is named in its group's page
        assert " ".join(path) in re.sub(r"\s+", " ", text), f"{page_for(path).name} does not name {' '.join(path)}"


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_help_lists_every_option_and_argument(path):
    command, text = COMMANDS[path], help_text(path)
    missing = [f for f in flags(command) if not flag_present(f, text)]
    missing += [a for a in arguments(command) if not re.search(rf"\b{re.escape(a)}\b", text, re.I)]
    assert not missing, f"`ironwal {' '.join(path)} --help` does not show {missing}"


def test_main_page_names_every_command_and_links_every_page():
    text = roff_to_text(MAIN_PAGE.read_text())
    commands = section(text, "COMMANDS")
    see_also = section(text, "SEE ALSO")
    for name in TOP_LEVEL:
        assert flag_present(name, commands), f"ironwal.1 COMMANDS does not name {name}"
        assert f"ironwal-{name}" in see_also, f"ironwal.1 SEE ALSO does not point at ironwal-{name}(1)"
    for page in MAN.glob("ironwal-*.1"):
        assert page.stem in see_also, f"ironwal.1 SEE ALSO does not point at {page.stem}(1)"


def test_main_page_lists_every_environment_variable():
    env = section(roff_to_text(MAIN_PAGE.read_text()), "ENVIRONMENT")
    missing = sorted({e for cmd in COMMANDS.values() for e in envvars(cmd)} - set(re.findall(r"IRONWAL_\w+", env)))
    assert not missing, f"ironwal.1 ENVIRONMENT lacks {missing}"


def test_main_page_exit_status_matches_errors_module():
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    table = section(roff_to_text(MAIN_PAGE.read_text()), "EXIT STATUS")
    documented = {int(c) for c in re.findall(r"^\.TP\n\.B (\d+)$", table, re.M)}
    assert documented == codes and set(range(6)) <= codes


@pytest.mark.parametrize("page", sorted(MAN.glob("*.1")), ids=lambda p: p.name)
def test_man_page_structure(page):
    source = page.read_text()
    name = re.escape(page.stem.upper()).replace("\\-", r"\\?-")  # roff may escape the hyphen
    assert re.match(rf'\.TH "?{name}"? 1 ', source), "first line must be .TH <NAME> 1"
    for title in REQUIRED_SECTIONS:
        section(source, title)
    assert re.match(rf"{re.escape(page.stem)} - \S", section(roff_to_text(source), "NAME").strip())
    if shutil.which("groff"):  # a local check of the roff itself; not required to run the tests
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr


# ----- README's set-up commands -------------------------------------------------------------------

VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def setup_blocks() -> list[str]:
    readme = (REPO / "README.md").read_text()
    part = re.search(r"^## Set up\n(.*?)(?=^## )", readme, re.M | re.S)
    assert part, "README.md has no '## Set up' section"
    return [b.strip() for b in re.findall(r"^```sh\n(.*?)^```", part.group(1), re.M | re.S)]


def ci_test_command() -> str:
    lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")][-1]


def test_readme_test_command_is_what_ci_runs():
    blocks = setup_blocks()
    assert len(blocks) == 2 and all("\n" not in b for b in blocks), "two one-line set-up commands"
    assert blocks[1].startswith(VENV)
    assert blocks[1][len(VENV):] == ci_test_command()
    assert "pytest" in ci_test_command() and "'.[test]'" in ci_test_command()


def test_readme_main_command_appends_and_reads_back_under_the_default_root(tmp_path):
    first = setup_blocks()[0]
    assert first.startswith(VENV + "pip install -e . && ")
    job = first[len(VENV + "pip install -e . && "):]
    assert "-r " not in job and "--root" not in job  # it shows the default root ./wal_data
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ironwal"  # the console script, whether or not this environment installed one
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ironwal_cli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["sh", "-c", job], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"0\n1\nhello\nworld\n"
    assert (tmp_path / "wal_data" / "demo" / "00000000000000000000.wal").is_file()


def test_readme_links_point_at_files():
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\]\((?!https?:|#)([^)\s]+)\)", readme)
    assert links, "README.md links to nothing"
    missing = [link for link in links if not (REPO / link).exists()]
    assert not missing, missing
