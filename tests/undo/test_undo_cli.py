"""A second ``recover --undo`` of a run says it was already undone, exit 7: refused (issue 14 item 10)."""

from __future__ import annotations

import json

from typer.testing import CliRunner
from undo_roots import build, ironwal, one_error_line, segments, tear, tree

from ironwal_cli.cli.main import app
from ironwal_cli.errors import EXIT_REFUSED
from ironwal_cli.ops.recover import recover


def test_a_second_undo_says_already_undone_and_is_refused(tmp_path):
    root = tmp_path / "wal"
    build(root)
    tear(segments(root)[-1])
    run = recover(root).run
    first = ironwal("recover", "-r", str(root), "--undo", run)
    assert first.returncode == 0, first.stderr
    after_undo = tree(root)
    second = ironwal("recover", "-r", str(root), "--undo", run)
    assert second.returncode == EXIT_REFUSED
    line = one_error_line(second)
    assert "already undone at 20" in line and run in line and "nothing changed" in line
    assert tree(root) == after_undo
    as_json = CliRunner().invoke(app, ["recover", "-r", str(root), "--undo", run, "--json"])
    assert as_json.exit_code == EXIT_REFUSED
    assert json.loads(as_json.stdout)["already_undone"].startswith("20")
    assert json.loads(as_json.stdout)["actions"] == []
