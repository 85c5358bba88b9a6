"""The conventions a newcomer expects of a command-line tool (issue 14.6), through the real
console script: ``--version`` (saying whether the C speed-up is built), shell completion,
bare ``ironwal`` showing help with exit 0."""

from __future__ import annotations

import os
import subprocess
import sys

from ironwal_cli import __version__
from ironwal_cli.spec.native import NATIVE


def ironwal(*args: str, env: dict | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IRONWAL_", "_IRONWAL"))}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "ironwal_cli", *args]
    return subprocess.run(cmd, capture_output=True, env={**base, **(env or {})}, timeout=60)


def test_version_names_itself_and_whether_the_c_speed_up_is_built():
    proc = ironwal("--version")
    out = proc.stdout.decode()
    assert proc.returncode == 0 and proc.stderr == b""
    assert out.startswith(f"ironwal {__version__} ")
    assert ("C speed-up (ironwal_cli.spec._walk): built" in out) == (NATIVE is not None)
    assert "lz4 " in out and "typer " in out and "Python " in out


def test_version_says_so_when_the_c_speed_up_is_missing():
    hide = ("import sys; sys.modules['ironwal_cli.spec._walk'] = None; sys.argv = ['ironwal', '--version']; "
            "from ironwal_cli.cli.launcher import main; main()")
    proc = ironwal(code=hide)
    assert proc.returncode == 0
    assert "C speed-up (ironwal_cli.spec._walk): not built, the Python walks run instead" in proc.stdout.decode()


def test_version_names_the_crc_and_siphash_libraries_in_use():
    from ironwal_cli.sharded.routing import SIPHASH_IMPLEMENTATION
    from ironwal_cli.spec.crc import CRC_IMPLEMENTATION

    out = ironwal("--version").stdout.decode()
    assert ("CRC-32: isal (ISA-L, C)" in out) == (CRC_IMPLEMENTATION == "isal")
    assert ("SipHash-1-3 (key routing): siphash24 (C)" in out) == (SIPHASH_IMPLEMENTATION == "siphash24")


def test_without_isal_and_siphash24_the_fallbacks_run_and_say_so(tmp_path):
    """Where neither package imports, the version says so, and appends (CRC) and routed appends
    (SipHash) still work: the entries read back and land in the shard the Python routing picks."""
    hide = ("import sys; sys.modules['isal'] = sys.modules['isal.isal_zlib'] = sys.modules['siphash24'] = None; "
            "sys.argv = ['ironwal', *sys.argv[1:]]; from ironwal_cli.cli.launcher import main; main()")
    root, sharded = str(tmp_path / "r"), str(tmp_path / "sharded")
    out = subprocess.run([sys.executable, "-c", hide, "--version"], capture_output=True, timeout=60).stdout.decode()
    assert "CRC-32: zlib (isal not importable" in out and "SipHash-1-3 (key routing): Python (siphash24 not" in out
    for args in (["append", "s", "a", "b", "-r", root], ["append", "--key", "k1", "v", "-r", sharded, "--shards", "4"]):
        assert subprocess.run([sys.executable, "-c", hide, *args], capture_output=True, timeout=60).returncode == 0
    from ironwal_cli.sharded.routing import route, siphash13_python

    assert ironwal("tail", "s", "-r", root).stdout == b"a\nb\n"
    shard = siphash13_python(b"\x02" + b"\0" * 7 + b"k1") % 4
    assert shard == route(b"k1", 4)
    assert ironwal("tail", f"shard_{shard:02d}", "-r", sharded).stdout == b"v\n"


def test_show_completion_prints_a_script_for_the_shell():
    proc = ironwal("--show-completion", "bash")
    assert proc.returncode == 0 and b"_ironwal_completion" in proc.stdout and b"complete " in proc.stdout


def test_completion_completes_commands_and_options():
    env = {"_IRONWAL_COMPLETE": "complete_bash", "COMP_WORDS": "ironwal ap", "COMP_CWORD": "1"}
    assert ironwal(env=env).stdout.split() == [b"append"]
    env = {"_IRONWAL_COMPLETE": "complete_bash", "COMP_WORDS": "ironwal tail --fo", "COMP_CWORD": "2"}
    assert b"--format" in ironwal(env=env).stdout.split()


def test_help_lists_the_root_options():
    out = ironwal("--help").stdout.decode()
    for flag in ("--version", "--install-completion", "--show-completion", "--help"):
        assert flag in out


def test_completion_of_stream_names_reads_the_root_given(tmp_path):
    from ironwal_cli.ops.append import append_values

    root = tmp_path / "wal"
    for name in ("alpha", "beta", "bravo"):
        append_values(root, name, [b"x"])
    env = {"_IRONWAL_COMPLETE": "complete_bash", "COMP_WORDS": f"ironwal tail -r {root} b", "COMP_CWORD": "4"}
    assert sorted(ironwal(env=env).stdout.split()) == [b"beta", b"bravo"]
    env = {"_IRONWAL_COMPLETE": "complete_bash", "COMP_WORDS": "ironwal get ", "COMP_CWORD": "2",
           "IRONWAL_ROOT": str(root)}
    assert sorted(ironwal(env=env).stdout.split()) == [b"alpha", b"beta", b"bravo"]
    env = {"_IRONWAL_COMPLETE": "complete_bash", "COMP_WORDS": f"ironwal tail -r {tmp_path / 'nope'} ",
           "COMP_CWORD": "4"}
    done = ironwal(env=env)
    assert done.returncode == 0 and done.stdout.split() == []
