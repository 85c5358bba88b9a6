"""``ironwal recover`` through the real CLI: dry run, JSON, quarantine location, undo, locking,
and reading across the split it makes (``tail --allow-gaps``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from recover_damage import STREAM, build_root, damage, snapshot
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.locks import locked_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def split_source(tmp_path_factory) -> Path:
    """Stream s with frame 2 of its active segment damaged (ids 21..23 lost) and a clean stream c."""
    root = tmp_path_factory.mktemp("cli") / "wal"
    build_root(root, compress=False)
    shutil.copytree(root / STREAM, root / "c")
    layout = StreamListing.read(root / STREAM)
    damage(layout.segment_path(layout.segment_ids[1]), "bad_crc", 2)
    return root


@pytest.fixture
def damaged(tmp_path, split_source) -> Path:
    root = tmp_path / "wal"
    shutil.copytree(split_source, root)
    return root


def ironwal(*args: str):
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args], capture_output=True, check=False)


def test_dry_run_plans_changes_nothing_and_exits_1(damaged):
    before = snapshot(damaged)
    result = runner.invoke(app, ["recover", "-r", str(damaged), "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "s/00000000000000000015.wal" in result.stdout and "filler frames for lost ids 21..23" in result.stdout
    assert "would" in result.stdout
    assert snapshot(damaged) == before
    assert not Path(str(damaged) + ".quarantine").exists()


def test_clean_root_dry_run_exits_0(damaged):
    result = runner.invoke(app, ["recover", "-r", str(damaged), "c", "-n"])
    assert result.exit_code == 0 and "nothing to repair" in result.stdout


def test_json_report_and_second_run(damaged):
    result = runner.invoke(app, ["recover", "-r", str(damaged), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["repairs_needed"] and not report["dry_run"]
    assert Path(report["run"]).parent == damaged.parent / "wal.quarantine"
    actions = {a["path"]: a["action"] for a in report["actions"]}
    assert actions == {"s/00000000000000000015.wal": "rewrite", "s/lost.idx": "rewrite-metadata"}
    assert report["notes"] == [{"path": "s", "message": "ids 21..23 are lost; the crate's iterator fails at id 21, "
                                "readers report them lost; replay resumes at id 24"}]
    assert report["replay"] == {"s": {"lost": [[21, 24]], "fails_at": 21, "resume_at": 24}}
    again = json.loads(runner.invoke(app, ["recover", "-r", str(damaged), "--json", "-n"]).stdout)
    assert not again["repairs_needed"] and again["actions"] == []


def test_tail_across_the_split(damaged):
    assert runner.invoke(app, ["recover", "-r", str(damaged)]).exit_code == 0
    loud = ironwal("tail", "-r", str(damaged), STREAM, "--from", "18", "--count", "6", "-F", "jsonl")
    assert loud.returncode == 3
    assert b"ids 21..23 missing" in loud.stderr
    assert [json.loads(x)["id"] for x in loud.stdout.splitlines()] == [18, 19, 20]
    allowed = ironwal("tail", "-r", str(damaged), STREAM, "--from", "18", "--count", "6", "-F", "jsonl",
                      "--allow-gaps")
    assert allowed.returncode == 0, allowed.stderr
    assert b"ids 21..23 are missing (gap) (lost to damage: recorded in lost.idx by ironwal recover)" in allowed.stderr
    assert [json.loads(x)["id"] for x in allowed.stdout.splitlines()] == [18, 19, 20, 24, 25, 26]
    assert ironwal("get", "-r", str(damaged), STREAM, "24").returncode == 0
    assert ironwal("get", "-r", str(damaged), STREAM, "22").returncode != 0


def test_quarantine_inside_root_refused(damaged):
    before = snapshot(damaged)
    result = runner.invoke(app, ["recover", "-r", str(damaged), "--quarantine", str(damaged / "q")])
    assert result.exit_code == 2
    assert "inside the WAL root" in result.output
    assert snapshot(damaged) == before


def test_custom_quarantine_and_undo_by_name(damaged, tmp_path):
    q = tmp_path / "elsewhere"
    before = snapshot(damaged)
    report = json.loads(runner.invoke(app, ["recover", "-r", str(damaged), "--quarantine", str(q), "--json"]).stdout)
    run = Path(report["run"])
    assert run.parent == q
    result = runner.invoke(app, ["recover", "-r", str(damaged), "--quarantine", str(q), "--undo", run.name])
    assert result.exit_code == 0, result.output
    assert snapshot(damaged) == before


def test_undo_refuses_when_a_file_changed(damaged):
    report = json.loads(runner.invoke(app, ["recover", "-r", str(damaged), "--json"]).stdout)
    assert runner.invoke(app, ["append", "-r", str(damaged), STREAM, "later"]).exit_code == 0
    after_append = snapshot(damaged)
    result = ironwal("recover", "-r", str(damaged), "--undo", report["run"])
    assert result.returncode == 7  # refused (errors.EXIT_REFUSED), not damaged data
    assert b"changed since the recover run" in result.stderr and b"nothing was changed" in result.stderr
    assert snapshot(damaged) == after_append


def test_unknown_stream_and_unknown_run(damaged):
    assert runner.invoke(app, ["recover", "-r", str(damaged), "nope"]).exit_code == 6  # not "repairs needed"
    assert runner.invoke(app, ["recover", "-r", str(damaged), "--undo", "nope"]).exit_code == 6


def test_recover_waits_for_the_writer_lock(damaged):
    before = snapshot(damaged)
    with locked_dir(damaged / STREAM):
        result = ironwal("recover", "-r", str(damaged), "--lock-timeout", "0.2")
    assert result.returncode == 4 and b"lock" in result.stderr
    assert snapshot(damaged) == before


def test_every_option_is_in_the_man_page_and_help():
    import inspect
    import re

    page = (Path(__file__).resolve().parents[2] / "man" / "ironwal-recover.1").read_text()
    help_text = runner.invoke(app, ["recover", "--help"], env={"COLUMNS": "200"}).stdout
    command = next(c for c in app.registered_commands if c.callback.__name__ == "recover")

    options = []
    for param in inspect.signature(command.callback).parameters.values():
        options += [d for d in getattr(param.default, "param_decls", None) or () if d.startswith("-")]
    assert {"--dry-run", "-n", "--json", "--quarantine", "--undo", "--lock-timeout", "--root", "-r"} <= set(options)
    for opt in (flag for decl in options for flag in decl.split("/")):  # --progress/--no-progress: both
        assert opt.replace("-", r"\-") in page, opt
        assert re.search(re.escape(opt) + r"\b", help_text), opt


def test_lock_timeout_midway_leaves_an_undoable_interrupted_run(damaged, tmp_path):
    """Stream c is clean, s is locked: a root with a third, damaged stream a is repaired first."""
    shutil.copytree(damaged / STREAM, damaged / "a")
    before = snapshot(damaged)
    with locked_dir(damaged / STREAM):
        result = ironwal("recover", "-r", str(damaged), "--lock-timeout", "0.2")
    assert result.returncode == 4
    [run] = list((damaged.parent / "wal.quarantine").iterdir())
    manifest = json.loads((run / "manifest.json").read_bytes())
    assert manifest["state"] == "interrupted" and {f["path"].split("/")[0] for f in manifest["files"]
                                                 if f["change"] != "cache"} == {"a"}  # c: seals.idx only
    assert runner.invoke(app, ["recover", "-r", str(damaged), "--undo", run.name]).exit_code == 0
    assert snapshot(damaged) == before
