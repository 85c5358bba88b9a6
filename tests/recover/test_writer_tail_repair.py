"""The writer's own tail repair: only a torn final frame is quarantined before appending."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import DamagedTailError
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.read import read_batches

SEG = "00000000000000000000.wal"


def _root_with(tmp_path: Path, cut: int) -> tuple[Path, bytes]:
    root = tmp_path / "wal"
    append_values(root, "s", [b"a", b"b"])
    append_values(root, "s", [b"c", b"d", b"e"])
    seg = root / "s" / SEG
    data = seg.read_bytes()
    seg.write_bytes(data[:len(data) - cut])
    return root, data


def _entries(root: Path) -> list[bytes]:
    return [e for _, batch in read_batches(root, "s", from_id=0) for e in batch]


@pytest.mark.parametrize("cut", [1, 20, 40], ids=["torn-payload", "torn-payload-long", "torn-header"])
def test_torn_final_frame_is_quarantined_then_append(tmp_path, cut):
    root, full = _root_with(tmp_path, cut)
    torn = (root / "s" / SEG).read_bytes()
    first_frame_end = 32 + 2 * 4 + 2
    warnings = []
    ids = append_values(root, "s", [b"new"], on_warning=warnings.append)
    assert ids == range(2, 3)  # the torn batch was never acknowledged: its ids are taken again
    assert _entries(root) == [b"a", b"b", b"new"]
    assert len(warnings) == 1 and "torn tail before append" in warnings[0]
    runs = list((tmp_path / "wal.quarantine").iterdir())
    assert len(runs) == 1
    manifest = json.loads((runs[0] / "manifest.json").read_bytes())
    [removed] = manifest["removed"]
    blob = (runs[0] / removed["blob"]).read_bytes()
    assert blob == torn[first_frame_end:] and removed["offset"] == first_frame_end
    assert removed["sha256"] == hashlib.sha256(blob).hexdigest()
    assert removed["reason"].startswith("torn tail before append")
    assert manifest["files"][0]["before"]["sha256"] == hashlib.sha256(torn).hexdigest()


def test_other_tail_damage_still_refused(tmp_path):
    root, full = _root_with(tmp_path, 0)
    seg = root / "s" / SEG
    data = bytearray(full)
    data[-1] ^= 1  # complete final frame, bad CRC: maybe acknowledged once, not the writer's to drop
    seg.write_bytes(bytes(data))
    with pytest.raises(DamagedTailError):
        with StreamWriter(root, "s") as w:
            w.append(b"x")
    assert seg.read_bytes() == bytes(data)
    assert not (tmp_path / "wal.quarantine").exists()


@pytest.mark.parametrize("tail", [b"\x00" * 100, b"\x01\x02\x03", b"LAWX"], ids=["zeros", "short", "not-magic"])
def test_garbage_tail_still_refused(tmp_path, tail):
    """Bytes after the last frame that do not begin as a frame does are not a torn write."""
    root, full = _root_with(tmp_path, 0)
    seg = root / "s" / SEG
    seg.write_bytes(full + tail)
    with pytest.raises(DamagedTailError):
        append_values(root, "s", [b"x"])
    assert seg.read_bytes() == full + tail


def test_cli_append_warns_on_stderr(tmp_path):
    root, _ = _root_with(tmp_path, 3)
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", "append", "-r", str(root), "s", "z"],
                          capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"2\n"
    assert b"warning" in proc.stderr and b"torn tail before append" in proc.stderr
    assert b"--undo" in proc.stderr
