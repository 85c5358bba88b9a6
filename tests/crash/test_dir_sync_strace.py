"""Every directory a command creates is durable before any id is printed (issue 17 item 2).

A new directory's name lives in its parent: without an fsync of the parent after the mkdir, a
power cut can take the directory (and every synced entry below it) away although its ids were
acknowledged. This audits the real syscalls with strace: for each successful mkdir, the parent
must be fsync'd before the command's first write to stdout (the ids) and before it exits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from wal_invariants import CLI

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is absent: the directory-durability audit needs it")

CALL = re.compile(r"^(?P<pid>\d+) +(?P<name>\w+)\((?P<args>.*)\) += (?P<ret>-?\d+)")
FD_PATH = re.compile(r"^(-?\d+|AT_FDCWD)<(?P<path>[^>]*)>")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Audit:
    made: list[str] = field(default_factory=list)  # every directory created, in order
    unsynced_at_output: list[str] = field(default_factory=list)  # parents not yet synced at the first stdout write
    unsynced_at_exit: list[str] = field(default_factory=list)


def _mkdir_path(name: str, args: str) -> str | None:
    strings = STRING.findall(args)
    if not strings:
        return None
    path = strings[0]
    if name == "mkdirat" and not path.startswith("/"):
        base = FD_PATH.match(args)
        if base is None:
            return None
        path = os.path.join(base.group("path"), path)
    return os.path.realpath(path)


def audit(log: Path) -> Audit:
    result = Audit()
    pending: set[str] = set()
    seen_output = False
    for line in log.read_text(errors="replace").splitlines():
        m = CALL.match(line)
        if m is None or m.group("ret") != "0" and m.group("name") != "write":
            continue
        name, args = m.group("name"), m.group("args")
        if name in ("mkdir", "mkdirat"):
            path = _mkdir_path(name, args)
            if path is not None:
                result.made.append(path)
                pending.add(path)
        elif name in ("fsync", "fdatasync"):
            fd = FD_PATH.match(args)
            if fd is not None:
                pending -= {p for p in pending if os.path.dirname(p) == fd.group("path")}
        elif name == "write" and args.startswith("1<") and not seen_output:
            seen_output = True
            result.unsynced_at_output = sorted(pending)
    result.unsynced_at_exit = sorted(pending)
    return result


def traced(tmp_path: Path, *args, input: bytes | None = None) -> tuple[subprocess.CompletedProcess, Audit]:
    log = tmp_path / f"strace-{len(list(tmp_path.glob('strace-*')))}.log"
    cmd = [STRACE, "-f", "-qq", "-y", "-o", str(log), "-e", "trace=mkdir,mkdirat,fsync,fdatasync,write",
           *CLI, *map(os.fspath, args)]
    proc = subprocess.run(cmd, input=input, capture_output=True, timeout=120)
    return proc, audit(log)


def check(proc: subprocess.CompletedProcess, result: Audit, expect_made: list[Path]) -> None:
    assert proc.returncode == 0, proc.stderr
    made = set(result.made)
    for path in expect_made:
        assert os.path.realpath(path) in made, f"{path} was not created here: {result.made}"
    assert result.unsynced_at_output == [], f"ids printed before the parent of {result.unsynced_at_output} was synced"
    assert result.unsynced_at_exit == [], f"the parent of {result.unsynced_at_exit} never synced"


def test_the_audit_sees_an_unsynced_directory(tmp_path):
    """The audit itself can fail: a bare mkdir (no fsync of the parent) is caught."""
    log = tmp_path / "raw.log"
    target = tmp_path / "made"
    subprocess.run([STRACE, "-f", "-qq", "-y", "-o", str(log), "-e", "trace=mkdir,mkdirat,fsync,fdatasync,write",
                    "python3", "-c", f"import os; os.mkdir({str(target)!r}); print(1)"], check=True,
                   capture_output=True)
    result = audit(log)
    assert result.made == [os.path.realpath(target)] and result.unsynced_at_output == [os.path.realpath(target)]


def test_a_new_plain_root_and_its_parents(tmp_path):
    root = tmp_path / "a" / "b" / "root"
    proc, result = traced(tmp_path, "append", "s", "v", "-r", root)
    assert proc.stdout == b"0\n"
    check(proc, result, [tmp_path / "a", tmp_path / "a" / "b", root, root / "s"])


def test_a_new_sharded_root_and_its_shards(tmp_path):
    root = tmp_path / "a" / "root"
    proc, result = traced(tmp_path, "append", "--shards", "4", "--key", "user1", "v", "-r", root)
    check(proc, result, [tmp_path / "a", root])
    assert len([p for p in result.made if os.path.basename(p).startswith("shard_")]) == 1
    proc, result = traced(tmp_path, "append", "-K", ":", "-r", root, input=b"".join(
        f"user{i}:v\n".encode() for i in range(40)))
    check(proc, result, [])
    assert len([p for p in result.made if os.path.basename(p).startswith("shard_")]) == 3  # the other shards


def test_quarantine_folders_of_recover_append_and_compaction(tmp_path):
    root = tmp_path / "root"
    assert subprocess.run([*CLI, "append", "s", "a", "b", "-r", root], capture_output=True).returncode == 0
    seg = root / "s" / "00000000000000000000.wal"
    with open(seg, "ab") as f:
        f.write(b"LAWL" + b"\0" * 10)  # a torn header: append quarantines it itself
    proc, result = traced(tmp_path, "append", "s", "c", "-r", root)
    assert proc.stdout == b"2\n"
    check(proc, result, [Path(f"{root}.quarantine")])
    with open(seg, "ab") as f:
        f.write(b"LAWL" + b"\0" * 10)
    quarantine = tmp_path / "q" / "deep"
    proc, result = traced(tmp_path, "recover", "-r", root, "--quarantine", quarantine)
    check(proc, result, [tmp_path / "q", quarantine])
    assert len(result.made) == 3  # q, q/deep and the run folder

    sharded = tmp_path / "sharded"
    for i in range(3):
        assert subprocess.run([*CLI, "append", "--shards", "2", "--key", "k", "v", "-r", sharded],
                              capture_output=True).returncode == 0
        assert subprocess.run([*CLI, "checkpoint", "create", f"c{i}", "-r", sharded],
                              capture_output=True).returncode == 0
    proc, result = traced(tmp_path, "checkpoint", "compact", "--keep", "1", "-r", sharded)
    check(proc, result, [Path(f"{sharded}.quarantine")])
