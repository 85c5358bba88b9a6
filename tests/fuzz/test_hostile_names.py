"""Hostile stream keys and planted symbolic links: the root is never escaped.

Keys are sanitized exactly as the crate does (each character outside [A-Za-z0-9._-] -> "_")
or refused with a one-line error: exit 2 for a blank key or one that names "." or "..",
exit 5 for a name the file system cannot hold. Writes never follow a symbolic link.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wal_invariants import CLI, FUZZ_DEADLINE, FUZZ_EXAMPLES, cli

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.names import sanitize_key
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import StorageError, UsageError

ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
EXAMPLES = FUZZ_EXAMPLES
hostile_keys = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(["..", ".", "/", "\\", "\0", "a", "ü", "\udcff", " ", "\n", "~"]),
             max_size=8).map("".join),
)


def _tree(path: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), path) for d, dirs, files in os.walk(path) for f in files + dirs}


@settings(max_examples=EXAMPLES, deadline=FUZZ_DEADLINE, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile_keys)
def test_any_key_stays_inside_the_root(record_property, key):
    record_property("count:fuzz examples", 1)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as tmp:
        top = Path(tmp)
        root = top / "wal"
        try:
            name = sanitize_key(key)
        except UsageError:
            assert not key.strip() or "".join(c if c in ALLOWED else "_" for c in key) in (".", "..")
            return
        assert len(name) == len(key) and set(name) <= ALLOWED and name not in (".", "..")
        with StreamWriter(root, key) as writer:
            assert writer.append(b"x") == 0
        assert _tree(top) == {"wal", f"wal/{name}", f"wal/{name}/segments.idx", f"wal/{name}/seals.idx",
                              f"wal/{name}/00000000000000000000.wal"}
        assert [e for _, e in StreamReader(root, key).entries()] == [b"x"]


def test_cli_keys(tmp_path, record_property):
    root = tmp_path / "wal"
    cases = 0
    for key, name in [(b"\xff\xfe/../x", "___.._x"), (b"../../etc", ".._.._etc"), (b"a\\b", "a_b"),
                      (b"...", "..."), ("ümlaut".encode(), "_mlaut")]:
        result = subprocess.run([*map(os.fsencode, CLI), b"append", key, b"-r", os.fsencode(root), b"v"],
                                capture_output=True)
        assert result.returncode == 0, result.stderr
        assert (root / name / "00000000000000000000.wal").is_file()
        cases += 1
    for key in ["..", ".", "", "   ", "./", "/"]:
        result = cli("append", key, "-r", root, "v")
        if sanitize_key_or_none(key) is None:
            assert result.returncode == 2 and result.stderr.count(b"\n") == 1, result.stderr
            assert b"stream key" in result.stderr
            cases += 1
    long_key = "k" * 300
    for args in (["append", long_key, "-r", root, "v"], ["tail", long_key, "-r", root]):
        result = cli(*args)
        # a usage error naming the limit, not the OS's "File name too long" (exit 5)
        assert result.returncode == 2 and b"at most 255 bytes" in result.stderr, result.stderr
        assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
        cases += 1
    assert cli("append", "k" * 255, "-r", root, "v").returncode == 0  # the longest name a file system takes
    assert sorted(os.listdir(tmp_path)) == ["wal"]  # nothing written beside the root
    record_property("count:hostile key cases", cases + 1)


def sanitize_key_or_none(key: str) -> str | None:
    try:
        return sanitize_key(key)
    except UsageError:
        return None


@pytest.mark.parametrize("planted", ["00000000000000000000.wal", "segments.idx", "head.state", "segments.idx.tmp",
                                     "head.state.tmp", "00000000000000000003.wal"])
def test_symlinks_inside_a_root_are_not_followed_for_writes(tmp_path, record_property, planted):
    """A link planted in a stream directory, pointing outside the root, is never written through."""
    root, outside = tmp_path / "wal", tmp_path / "outside"
    outside.mkdir()
    target = outside / "target"
    target.write_bytes(b"")
    with StreamWriter(root, "s") as writer:  # a stream that already exists
        writer.append_batch([b"a", b"b"])
    link = root / "s" / planted
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    before = _tree(tmp_path)
    result = cli("append", "s", "-r", root, "--max-segment-size", "1", "c", "d", "e")
    assert target.read_bytes() == b"" and target.is_file(), "wrote through a symbolic link"
    assert _tree(outside) == {"target"}
    if result.returncode == 0:  # head.state is replaced by a rename (the link goes); the .idx temp is unused;
        # a linked segments.idx is never read (not a regular file), so the writer rebuilds it by a rename too
        assert planted in ("head.state", "segments.idx.tmp", "segments.idx"), result.stderr
        assert planted == "segments.idx.tmp" or not (root / "s" / planted).is_symlink()
    else:
        # refused by the write (exit 5), or already by the read of the tail before it (exit 3: a
        # segment that is a link is damage of its own kind, not_regular_file)
        assert (result.returncode, b"refusing to write through it" in result.stderr) == (5, True) or (
            result.returncode, b"is a symbolic link, not a regular file" in result.stderr) == (3, True), result.stderr
        assert result.stderr.count(b"\n") == 1
        assert _tree(tmp_path) >= before - {f"wal/s/{planted}"}
    record_property("count:symlink cases", 1)


def test_symlinked_stream_dir_refused(tmp_path, record_property):
    root, outside = tmp_path / "wal", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "s").symlink_to(outside)
    with pytest.raises(UsageError, match="symbolic link"):
        StreamWriter(root, "s")
    result = cli("append", "s", "-r", root, "x")
    assert result.returncode == 2 and b"symbolic link" in result.stderr
    assert not os.listdir(outside)
    with pytest.raises((UsageError, StorageError)):
        with StreamWriter(root, "s") as writer:
            writer.append(b"x")
    record_property("count:symlink cases", 1)


def test_sharded_keys_and_checkpoint_ids(tmp_path, record_property):
    """Routing keys and checkpoint ids are bytes inside files: any of them leaves the root's tree as it is."""
    root = tmp_path / "wal"
    keys = [b"../../x", b"/etc/passwd", b"\xff\xfe", b"a" * 5000, b".."]
    for key in keys:
        result = subprocess.run([*map(os.fsencode, CLI), b"append", b"--key", key, b"--shards", b"4", b"-r",
                                 os.fsencode(root), b"v"], capture_output=True)
        assert result.returncode == 0, result.stderr
    ids = [b"../../x", b"/", b"\xff\xfe", b"a/b\\c"]
    for cid in ids:
        result = subprocess.run([*map(os.fsencode, CLI), b"checkpoint", b"create", cid, b"--shards", b"4",
                                 b"-r", os.fsencode(root)], capture_output=True)
        assert result.returncode == 0, result.stderr
    for raw_id, code in [("00", 0), ("ff" * 65535, 0), ("a" * 65536, 2), ("", 2), ("zz", 2)]:
        hex_opt = [] if raw_id.startswith("a") else ["--hex"]  # 65536 bytes: as text (hex would overflow argv)
        result = cli("checkpoint", "create", *hex_opt, raw_id, "--shards", "4", "-r", root)
        assert result.returncode == code, result.stderr
        if code:
            _one_line = result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
            assert _one_line, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["wal"]
    expected = ("checkpoints.log", "HEAD", "ironwal-shards")
    assert all(n.startswith("shard_") or n in expected for n in os.listdir(root)), os.listdir(root)
    listed = cli("checkpoint", "list", "-r", root, "--json")
    assert listed.returncode == 0 and listed.stdout.count(b"\n") >= 1
    record_property("count:hostile key cases", len(keys) + len(ids) + 5)


@pytest.mark.parametrize("args", [["tail", "s"], ["get", "s", "0"], ["append", "s", "x"], ["recover", "s"],
                                  ["prune", "s", "--before", "1"], ["stats", "s"]])
def test_one_symlink_rule_for_every_command_that_names_a_stream(tmp_path, args):
    """A stream directory is never a symbolic link, for reads as for writes (engine/store/roots.py
    stream_path): the link to a real stream is refused in one line (exit 2), nothing read through it."""
    root, outside = tmp_path / "wal", tmp_path / "outside"
    with StreamWriter(outside, "real") as writer:
        writer.append_batch([b"a", b"b"])
    with StreamWriter(root, "other") as writer:  # a WAL root, so the refusal is the link's alone
        writer.append(b"o")
    (root / "s").symlink_to(outside / "real")
    before = sorted(p.name for p in (outside / "real").iterdir())
    result = cli(*args, "-r", root)
    assert result.returncode == 2 and result.stdout == b"", result.stderr
    assert result.stderr.count(b"\n") == 1 and b"symbolic link" in result.stderr, result.stderr
    assert sorted(p.name for p in (outside / "real").iterdir()) == before
