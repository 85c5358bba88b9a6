"""The man pages of verify and inspect name every option, and verify's lists every problem kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from ironwal_cli.audit.kinds import KINDS
from ironwal_cli.cli.main import app

MAN = Path(__file__).resolve().parents[2] / "man"


def man_text(command: str) -> str:
    return (MAN / f"ironwal-{command}.1").read_text().replace("\\-", "-")


@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_every_option_is_in_the_man_page(command):
    click_cmd = typer.main.get_command(app).commands[command]
    options = [o for p in click_cmd.params for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
               if o.startswith("-")]
    assert "--json" in options
    text = man_text(command)
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
    assert missing == []


def test_every_problem_kind_is_in_the_kinds_table():
    text = man_text("verify")
    table = text[text.index(".SH PROBLEM KINDS"):text.index(".SH EXIT STATUS")]
    listed = re.findall(r"^\.B (\w+)$", table, re.M)
    assert sorted(listed) == sorted(KINDS)
