"""Every option of checkpoint, prune and append's sharded options is in --help and in its man page."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ironwal_cli.cli.main import app

MAN = Path(__file__).resolve().parents[2] / "man"
SHARDED_APPEND_OPTIONS = ["--key", "-K", "--key-separator", "--shards"]


def man_text(page: str) -> str:
    return (MAN / page).read_text().replace("\\-", "-")


def command(*path: str):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def options(cmd) -> list[str]:
    return [opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")]


CASES = [(("checkpoint", sub), "ironwal-checkpoint.1") for sub in ("create", "list", "show", "compact")]
CASES += [(("prune",), "ironwal-prune.1")]


@pytest.mark.parametrize("path,page", CASES)
def test_every_option_is_documented(path, page):
    text = man_text(page)
    opts = options(command(*path))
    assert opts
    helptext = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output
    for opt in opts + ["--help"]:
        assert opt in text, f"{opt} of {' '.join(path)} missing from man/{page}"
        assert opt in helptext, f"{opt} of {' '.join(path)} missing from --help"


def test_appends_sharded_options_are_documented():
    text = man_text("ironwal-append.1")
    assert ".SH SHARDED ROOTS" in text
    section = text.split(".SH SHARDED ROOTS", 1)[1]
    assert set(SHARDED_APPEND_OPTIONS) <= set(options(command("append")))
    for opt in SHARDED_APPEND_OPTIONS:
        assert opt in section
