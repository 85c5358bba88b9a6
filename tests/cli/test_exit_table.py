"""The one exit-code table (README "Output formats and exit codes", ironwal(1), errors.py),
walked for every command through real ``python -m ironwal_cli`` processes (issue 14.3, 14.8).

Each row of the table is a situation every command meets the same way: a missing root, a
root that is a file, an unreadable root, a missing stream, a directory of other files, a
busy lock, a bug. Each case checks the code, the one ``ironwal: error:`` line naming the
path, and that nothing was written where nothing may be.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from proc_io import error_line

from ironwal_cli import errors
from ironwal_cli.ops.append import append_values

REPO = Path(__file__).resolve().parents[2]
EMPTY_STREAM_ROOT = REPO / "format" / "samples" / "conformance" / "empty-stream" / "root"

# Every command that reads a stream, as run against stream "s" of ROOT.
STREAM_COMMANDS = {
    "tail": ["tail", "s"],
    "get": ["get", "s", "0"],
    "verify": ["verify", "s"],
    "recover -n": ["recover", "-n", "s"],
    "prune": ["prune", "s", "--before", "1"],
}
# Every command that reads a root (no stream named).
ROOT_COMMANDS = {
    "ls": ["ls"],
    "verify": ["verify"],
    "recover -n": ["recover", "-n"],
    "checkpoint list": ["checkpoint", "list"],
    "checkpoint show": ["checkpoint", "show"],
    "checkpoint compact": ["checkpoint", "compact", "--keep", "1"],
}
READERS = {**{f"{k} (stream)": v for k, v in STREAM_COMMANDS.items()}, **ROOT_COMMANDS}


def run(*args: str, root: Path, cwd: Path, env: dict | None = None, prefix=(), **kw) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    return subprocess.run([*prefix, sys.executable, "-m", "ironwal_cli", *args, "-r", str(root)],
                          capture_output=True, cwd=cwd, env={**base, **(env or {})}, timeout=60, **kw)


# As root, permissions are enforced only once the capabilities that override them are dropped.
DROP_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def tree(path: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


@pytest.fixture
def wal(tmp_path: Path) -> Path:
    root = tmp_path / "wal"
    append_values(root, "s", [b"a", b"b"])
    return root


@pytest.mark.parametrize("name", [*READERS, "append"], ids=str)
def test_missing_root_is_not_found_6_for_every_reader(tmp_path, name):
    missing = tmp_path / "nope"
    args = READERS.get(name, ["append", "s", "x"])
    proc = run(*args, root=missing, cwd=tmp_path)
    if name == "append":  # the one command that makes a root
        assert proc.returncode == 0 and (missing / "s").is_dir()
        return
    assert f"{missing}: no such WAL root" in error_line(proc, errors.EXIT_NOT_FOUND)
    assert not missing.exists()


@pytest.mark.parametrize("name", [*READERS, "append"], ids=str)
def test_root_that_is_a_regular_file_is_an_io_error_5_naming_it(tmp_path, name):
    bad = tmp_path / "file"
    bad.write_bytes(b"not a root")
    args = READERS.get(name, ["append", "s", "x"])
    line = error_line(run(*args, root=bad, cwd=tmp_path), errors.EXIT_IO)
    assert f"{bad}: not a directory" in line and "File exists" not in line
    assert bad.read_bytes() == b"not a root"


@pytest.mark.parametrize("name", [*READERS, "append"], ids=str)
def test_unreadable_root_is_an_io_error_5(tmp_path, name):
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root ignores permissions and setpriv is not there to drop that")
        prefix = DROP_DAC
    root = tmp_path / "wal"
    append_values(root, "s", [b"a"])
    root.chmod(0)
    try:
        args = READERS.get(name, ["append", "s", "x"])
        line = error_line(run(*args, root=root, cwd=tmp_path, prefix=prefix), errors.EXIT_IO)
        assert "Permission denied" in line and str(root) in line
    finally:
        root.chmod(0o755)


@pytest.mark.parametrize("name", STREAM_COMMANDS, ids=str)
def test_missing_stream_is_not_found_6_for_every_command(wal, tmp_path, name):
    args = [("other" if a == "s" else a) for a in STREAM_COMMANDS[name]]
    before = tree(wal)
    line = error_line(run(*args, root=wal, cwd=tmp_path), errors.EXIT_NOT_FOUND)
    assert str(wal / "other") in line or "other" in line
    assert tree(wal) == before


def test_recover_dry_run_codes_tell_clean_repairs_and_missing_apart(wal, tmp_path):
    assert run("recover", "-n", "s", root=wal, cwd=tmp_path).returncode == errors.EXIT_OK
    segment = wal / "s" / "00000000000000000000.wal"
    with open(segment, "ab") as f:
        f.write(b"LAWL\x00\x00")  # a torn header: a repair to make
    assert run("recover", "-n", "s", root=wal, cwd=tmp_path).returncode == errors.EXIT_PROBLEMS
    assert run("verify", "s", root=wal, cwd=tmp_path).returncode == errors.EXIT_PROBLEMS
    error_line(run("recover", "-n", "nosuchstream", root=wal, cwd=tmp_path), errors.EXIT_NOT_FOUND)
    assert errors.EXIT_PROBLEMS != errors.EXIT_NOT_FOUND


def test_damaged_data_is_3(wal, tmp_path):
    segment = wal / "s" / "00000000000000000000.wal"
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # the last entry's byte: its frame fails the CRC
    segment.write_bytes(bytes(data))
    assert "offset" in error_line(run("get", "s", "1", root=wal, cwd=tmp_path), errors.EXIT_DAMAGED)


@pytest.mark.parametrize("args", [["append", "s", "x"], ["recover", "s"], ["prune", "s", "--before", "1"]],
                         ids=lambda a: a[0])
def test_busy_lock_is_4(wal, tmp_path, args):
    fd = os.open(wal / "s", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        line = error_line(run(*args, "--lock-timeout", "0", root=wal, cwd=tmp_path), errors.EXIT_BUSY)
        assert str(wal / "s") in line
    finally:
        os.close(fd)


@pytest.mark.parametrize("args", [["get", "s", "-1"], ["tail", "s", "-n", "x"], ["append", "s", "x", "--lock-timeout",
                                                                                "nan"],
                                  ["append", "k" * 300, "x"], ["append", "s", "x", "-q", "--json"],
                                  ["verify", "-q", "--json"]], ids=str)
def test_usage_errors_are_2(wal, tmp_path, args):
    before = tree(wal)
    error_line(run(*args, root=wal, cwd=tmp_path), errors.EXIT_USAGE)
    assert tree(wal) == before


def test_usage_messages_name_what_is_wrong(wal, tmp_path):
    assert "-1: a negative number" in error_line(run("get", "s", "-1", root=wal, cwd=tmp_path), 2)
    assert "at most 255 bytes" in error_line(run("append", "k" * 300, "x", root=wal, cwd=tmp_path), 2)
    assert "finite number" in error_line(run("append", "s", "x", "--lock-timeout", "inf", root=wal, cwd=tmp_path), 2)
    assert "finite number" in error_line(run("recover", "--lock-timeout", "-1", root=wal, cwd=tmp_path), 2)


def test_missing_entry_is_not_found_6(wal, tmp_path):
    assert "no entry 5" in error_line(run("get", "s", "5", root=wal, cwd=tmp_path), errors.EXIT_NOT_FOUND)


def test_an_id_recorded_lost_says_so_and_names_the_range(tmp_path):
    """After recover split a segment around lost ids, ``get`` of one says it was lost, not just "no entry"."""
    root = tmp_path / "wal"
    append_values(root, "s", [b"a", b"b"])
    append_values(root, "s", [b"c", b"d", b"e"])
    append_values(root, "s", [b"f"])
    segment = root / "s" / "00000000000000000000.wal"
    data = bytearray(segment.read_bytes())
    data[32 + 2 * (4 + 1) + 8] ^= 0xFF  # the start_id of the second frame (ids 2..4): its CRC fails
    segment.write_bytes(bytes(data))
    assert run("recover", root=root, cwd=tmp_path).returncode == 0
    line = error_line(run("get", "s", "3", root=root, cwd=tmp_path), errors.EXIT_NOT_FOUND)
    assert "entry 3 was lost to damage: ids 2..4 are recorded lost in lost.idx" in line
    assert run("get", "s", "5", root=root, cwd=tmp_path).stdout == b"f\n"
    assert "no entry 9" in error_line(run("get", "s", "9", root=root, cwd=tmp_path), errors.EXIT_NOT_FOUND)


# ----- wrong roots (issue 14.8) ------------------------------------------------------------------

@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """A folder of other things: files, and directories of files (like /etc, or a man/ folder)."""
    root = tmp_path / "etc"
    (root / "apt").mkdir(parents=True)
    (root / "apt" / "sources.list").write_text("deb http://example\n")
    (root / "man").mkdir()
    (root / "man" / "ls.1").write_text(".TH LS 1\n")
    (root / "passwd").write_text("root:x:0:0\n")
    return root


@pytest.mark.parametrize("args", [["tail", "apt"], ["get", "apt", "0"], ["prune", "apt", "--before", "1"],
                                  ["recover", "-n", "apt"], ["verify", "apt"]], ids=lambda a: a[0])
def test_a_directory_of_other_files_is_not_an_empty_stream(foreign, tmp_path, args):
    before = tree(foreign)
    line = error_line(run(*args, root=foreign, cwd=tmp_path), errors.EXIT_NOT_FOUND)
    assert "not an IronWal" in line
    assert tree(foreign) == before


@pytest.mark.parametrize("args", [["ls"], ["verify"], ["recover", "-n"], ["recover"], ["checkpoint", "list"],
                                  ["checkpoint", "show"]], ids=" ".join)
def test_a_folder_of_other_files_is_not_a_root(foreign, tmp_path, args):
    before = tree(foreign)
    line = error_line(run(*args, root=foreign, cwd=tmp_path), errors.EXIT_NOT_FOUND)
    assert f"{foreign}: not an IronWal root" in line
    assert tree(foreign) == before


@pytest.mark.parametrize("stream", ["man", "newstream"])
def test_append_into_a_folder_of_other_files_is_refused_7_and_writes_nothing(foreign, tmp_path, stream):
    before = tree(foreign)
    line = error_line(run("append", stream, "x", root=foreign, cwd=tmp_path), errors.EXIT_REFUSED)
    assert "refusing" in line
    assert tree(foreign) == before


def test_an_undo_of_a_root_changed_since_the_run_is_refused_7_not_damage_3(wal, tmp_path):
    with open(wal / "s" / "00000000000000000000.wal", "ab") as f:
        f.write(b"LAWL\x00\x00")  # a torn tail for recover to cut
    done = run("recover", "--json", root=wal, cwd=tmp_path)
    assert done.returncode == 0
    run_dir = json.loads(done.stdout)["run"]
    assert run("append", "s", "later", root=wal, cwd=tmp_path).returncode == 0
    before = tree(wal)
    line = error_line(run("recover", "--undo", run_dir, root=wal, cwd=tmp_path), errors.EXIT_REFUSED)
    assert "undo refused, nothing was changed" in line
    assert tree(wal) == before


@pytest.mark.parametrize("args", [["append", "--key", "k", "--shards", "2", "v"],
                                  ["checkpoint", "create", "c", "--shards", "2"],
                                  ["checkpoint", "compact", "--keep", "1"]], ids=lambda a: " ".join(a[:2]))
def test_a_sharded_write_into_a_folder_of_other_files_is_refused_7(foreign, tmp_path, args):
    before = tree(foreign)
    assert "refusing" in error_line(run(*args, root=foreign, cwd=tmp_path), errors.EXIT_REFUSED)
    assert tree(foreign) == before  # not even checkpoints.log, which would make it a WAL root


def test_ls_leaves_out_a_foreign_directory_of_a_real_root(wal, tmp_path):
    (wal / "notes").mkdir()
    (wal / "notes" / "todo.txt").write_text("x")
    proc = run("ls", "--json", root=wal, cwd=tmp_path)
    assert proc.returncode == 0 and b'"notes"' not in proc.stdout and b'"s"' in proc.stdout


def test_crate_roots_with_empty_and_hand_made_stream_dirs_keep_working(tmp_path):
    root = tmp_path / "crate"
    shutil.copytree(EMPTY_STREAM_ROOT, root)
    (root / "made-by-hand").mkdir()  # an empty directory: the crate makes a stream of it
    listed = run("ls", root=root, cwd=tmp_path)
    assert listed.returncode == 0 and b"quiet" in listed.stdout and b"made-by-hand" in listed.stdout
    for stream in ("quiet", "late", "normal", "made-by-hand"):
        assert run("tail", stream, root=root, cwd=tmp_path).returncode == 0
    assert run("append", "quiet", "x", root=root, cwd=tmp_path).stdout == b"0\n"
    assert run("append", "made-by-hand", "y", root=root, cwd=tmp_path).stdout == b"0\n"
    assert run("verify", root=root, cwd=tmp_path).returncode == 0
    hand_made_root = tmp_path / "only-empty-dirs"
    (hand_made_root / "a").mkdir(parents=True)
    assert run("append", "b", "x", root=hand_made_root, cwd=tmp_path).returncode == 0


# ----- a bug is a bug, not a usage error (issue 12) ----------------------------------------------

BUGGY = """
import sys
import typer
from ironwal_cli.cli._app import app, handles_errors, run

@app.command()
@handles_errors
def boom() -> None:
    raise ValueError("an unexpected value")

sys.argv = ["ironwal", "boom"]
run(app)
"""


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_exception_is_an_internal_error_70(tmp_path, debug):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    if debug:
        env["IRONWAL_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", BUGGY], capture_output=True, env=env, cwd=tmp_path, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == errors.EXIT_INTERNAL == 70
    last = err.splitlines()[-1]
    assert last.startswith("ironwal: internal error: ValueError: an unexpected value")
    assert "report" in last and "IRONWAL_DEBUG=1" in last
    assert "README.md, 'Reporting bugs'" in last and "\n## Reporting bugs\n" in (REPO / "README.md").read_text()
    assert ("Traceback" in err) == debug
    if not debug:
        assert len(err.splitlines()) == 1


def test_no_arguments_prints_help_and_exits_0(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli"], capture_output=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and b"Usage: ironwal" in proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["append", "--help"], ["--version"]], ids=" ".join)
def test_output_into_a_closed_pipe_exits_0(tmp_path, args):
    """``ironwal --help | head -1`` exits 0 like ``tail`` does; here the reader is gone before the
    first byte, so every write meets a closed pipe (the race of ``| head`` made certain)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "ironwal_cli", *args], stdout=write_end, stderr=subprocess.PIPE,
                              cwd=tmp_path, timeout=60)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, b"")
