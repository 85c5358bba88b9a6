"""The quick start of ``ironwal append`` (cli/quick_append.py) reads a command line exactly as click
reads the declared command, or leaves it to typer; and it never imports typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.cli import quick_append

TOKENS = ["s", "t", "v", "-", "", "x y", "--", "-q", "--quiet", "--json", "--hold-lock", "--force", "-r", "--root",
          "--root=/tmp/r", "--root=", "-r/tmp/r", "--sync", "--sync=async", "--sync=nope", "--batch", "--batch=0",
          "--batch=7", "--linger", "--linger=-1", "--linger=0", "strict", "batch", "async", "0", "1", "10", "-1",
          " 5", "+3", "1_000", "abc", "/tmp/r", "-h", "--help", "-0", "--whole", "-I", "jsonl", "--key", "k",
          "--compress", "--max-segment-size", "4k", "--lock-timeout", "2", "-qr", "--jso", "-K", "\t", ",",
          "--key-separator", "--key-separator=,", "--key-separator=", "-K,", "--shards", "--shards=8",
          "--shards=0", "--shards=65536", "65535", "8", "--key=k"]


def click_params(args: list[str]) -> dict | None:
    """What click makes of ``ironwal append args`` (as run_append takes it), or None if it refuses."""
    import typer.main

    from ironwal_cli.cli import append  # noqa: F401 - registers the command
    from ironwal_cli.cli._app import app

    command = typer.main.get_command(app).commands["append"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}  # parse() is given none
    try:
        with mock.patch.dict(os.environ, clean, clear=True):
            ctx = command.make_context("append", list(args), resilient_parsing=False)
    except Exception:
        return None
    params = dict(ctx.params)
    params["values"] = list(params["values"]) or None if params["values"] is not None else None
    params["root"] = Path(params["root"])  # typer makes a Path of it, as the command is called
    for enum in ("sync", "input_format"):  # click hands a choice over as its string, typer as the enum
        params[enum] = getattr(params[enum], "value", params[enum])
    return params


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=7))
def test_a_command_line_read_quickly_is_read_as_click_reads_it(args):
    quick = quick_append.parse(args, environ={})
    if quick is not None:
        assert quick == click_params(args), args


@pytest.mark.parametrize("args", [
    ["s", "-q", "--sync", "async", "--batch", "1000"],
    ["-r", "/tmp/r", "s", "a", "b", "--json"],
    ["s", "-", "--sync=batch", "--linger", "0", "--hold-lock", "--force", "-q", "--quiet"],
    ["s", "--batch", "3", "--batch", "1_000", "--root=/x", "-r", "/y"],
    ["-r", "/tmp/r", "--shards", "8", "-K", "\t", "-q", "--sync", "async"],
    ["-K", ",", "--json", "--shards=65535", "--key-separator=\t", "--batch", "10"],
    ["-K", "", "--linger=0"], ["s", "v", "-K", ","], ["-K", "-q"], ["--shards", "1", "-K", "--json", "-"],
])
def test_the_common_command_lines_are_read_quickly(args):
    quick = quick_append.parse(args, environ={})
    assert quick is not None and quick == click_params(args)


@pytest.mark.parametrize("args", [
    [], ["--help"], ["s", "-h"], ["s", "--batch", "0"], ["s", "--sync", "nope"], ["s", "--linger", "-1"],
    ["s", "-1"], ["s", "--", "-x"], ["s", "-0"], ["s", "--key", "k"], ["s", "--batch"], ["s", "-rX"],
    ["s", "--root", ""], ["s", "--compress"], ["s", "--json=1"],
    ["--shards", "8"], ["-K", ",", "--shards", "0"], ["-K", ",", "--shards", "65536"], ["-K,"], ["-K"],
    ["-K", ",", "--key", "k"], ["-K", ",", "-0"], ["-K", ",", "--shards", "x"],
])
def test_anything_else_is_left_to_typer(args):
    assert quick_append.parse(args, environ={}) is None


def test_ironwal_variables_but_the_root_are_left_to_typer():
    assert quick_append.parse(["s"], environ={"IRONWAL_SYNC": "async"}) is None
    assert quick_append.parse(["-K", ","], environ={"IRONWAL_SHARDS": "8"}) is None
    assert quick_append.parse(["s"], environ={"IRONWAL_ROOT": ""}) is None
    params = quick_append.parse(["s"], environ={"IRONWAL_ROOT": "/tmp/r", "IRONWAL_DEBUG": "1", "HOME": "/"})
    assert params is not None and str(params["root"]) == "/tmp/r"
    assert str(quick_append.parse(["s", "-r", "/a"], environ={"IRONWAL_ROOT": "/b"})["root"]) == "/a"


def test_the_defaults_are_the_declared_ones():
    assert quick_append.parse(["s"], environ={}) == click_params(["s"])


def _run(args: list[str], stdin: bytes = b"", env=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    probe = ("import sys\nsys.argv = ['ironwal', *sys.argv[1:]]\nfrom ironwal_cli.cli.launcher import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    sys.stderr.write(f'exit={e.code} ')\n"
             "sys.stderr.write(' '.join(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", probe, *args], input=stdin, capture_output=True, env=env)
    return result, set(result.stderr.decode().split())


def test_a_bulk_append_and_a_one_shot_append_start_without_typer(tmp_path):
    root = str(tmp_path / "r")
    result, loaded = _run(["append", "s", "-r", root, "--sync", "async"], stdin=b"a\nb\n")
    assert result.stdout == b"0\n1\n" and "exit=0" in loaded
    assert "typer" not in loaded and "click" not in loaded
    result, loaded = _run(["-r", root, "append", "s", "c", "--json"])
    assert result.stdout == b'{"stream": "s", "first": 2, "count": 1, "next": 3}\n' and "typer" not in loaded


def test_a_keyed_append_starts_without_typer_and_prints_as_typer_does(tmp_path):
    records = b"a,1\nb,2\na,3\n"
    quick, loaded = _run(["append", "-r", str(tmp_path / "q"), "--shards", "8", "-K", ","], stdin=records)
    assert "exit=0" in loaded and not loaded & {"typer", "click", "rich"}
    slow, loaded = _run(["append", "-r", str(tmp_path / "t"), "--shards", "8", "-K", ",", "--lock-timeout", "30"],
                        stdin=records)
    assert "typer" in loaded and quick.stdout == slow.stdout and len(quick.stdout.splitlines()) == 3
    for args in (["--json"], ["-q"]):
        quick, _ = _run(["append", "-r", str(tmp_path / "q"), "-K", ",", *args], stdin=records)
        slow, _ = _run(["append", "-r", str(tmp_path / "t"), "-K", ",", "--lock-timeout", "30", *args],
                       stdin=records)
        assert quick.stdout == slow.stdout


def test_errors_read_the_same_either_way(tmp_path):
    """A refusal found by the command itself (not by click) is one line and its exit code, quick or not."""
    (tmp_path / "file").write_bytes(b"")
    _run(["append", "-r", str(tmp_path / "r2"), "--shards", "8", "-K", ","], stdin=b"a,1\n")  # 3 shards: refused
    refusals = (["append", "s", "-q", "--json"], ["append", "-", "v"],
                ["append", "s", "v", "-r", str(tmp_path / "file")], ["append", "-K", ",", "s", "v"],
                ["append", "-K", "", "-r", str(tmp_path / "r")], ["append", "-K", ",", "-r", str(tmp_path / "file")],
                ["append", "-K", ",", "--shards", "3", "-r", str(tmp_path / "r2")])
    for args in refusals:
        quick, _ = _run(args)
        slow, loaded = _run([*args, "--lock-timeout", "30"])  # an option the quick start leaves to typer
        assert "typer" in loaded
        assert quick.stdout == slow.stdout == b""
        assert quick.stderr.split(b" ")[:-1] and quick.stderr.startswith(b"ironwal: error: ")
        assert quick.stderr.split(b"exit=")[0] == slow.stderr.split(b"exit=")[0]
        code = quick.stderr.split(b"exit=")[1].split(b" ")[0]
        assert code == slow.stderr.split(b"exit=")[1].split(b" ")[0] and code != b"0"
