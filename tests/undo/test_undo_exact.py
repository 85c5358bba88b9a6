"""Undo gives the root back exactly: names, kinds, modes and bytes (issue 17 item 17).

Every kind of file recover changes is here at once: a segment with garbage between its frames
(rewritten whole), a ``segments.idx`` of an odd length (rebuilt), a segment of mode 0640
(rewritten), an active segment whose torn tail is cut (by a copy of its prefix), the
``lost.idx`` recover creates, and the ``seals.idx`` it writes, in the damaged stream and in a
clean one. Undo used to bring modes back as 0644 and to leave seals.idx behind. (A symbolic
link in a root is never followed nor repaired since issue 17 item 18: recover refuses it, so
undo has no link to put back; tests/fuzz/test_hostile_file_types.py holds that.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from undo_roots import STREAM, break_frame, build, insert_garbage, ironwal, segments, tear, tree

from ironwal_cli.ops.recover import recover, undo_recover


def hostile_root(tmp_path: Path) -> Path:
    root = tmp_path / "wal"
    build(root, n=12, per_segment=4)  # segments 0, 4, 8 of one-entry frames
    shutil.copytree(root / STREAM, root / "clean")
    (root / "clean" / "seals.idx").unlink()
    first, middle, active = segments(root)
    insert_garbage(first, 1)  # removed: segment 0 rewritten whole (not cut)
    first.chmod(0o600)
    with open(root / STREAM / "segments.idx", "ab") as f:  # an odd length: recover rebuilds (replaces) the index
        f.write(b"\x01\x02\x03")
    break_frame(middle, 2)  # id 6 lost: a filler frame takes its place in segment 4
    middle.chmod(0o640)
    tear(active)
    (root / STREAM / "seals.idx").unlink()  # recover creates it
    return root


def test_undo_restores_the_whole_root_exactly(tmp_path):
    root = hostile_root(tmp_path)
    before = tree(root)
    report = recover(root)
    actions = {a.path: a.action for a in report.actions}
    assert actions[f"{STREAM}/segments.idx"] == "rewrite-metadata" and f"{STREAM}/lost.idx" in actions
    changed = tree(root)
    assert changed != before
    assert (root / STREAM / "seals.idx").exists() and (root / "clean" / "seals.idx").exists()
    result = ironwal("recover", "-r", str(root), "--undo", report.run)
    assert result.returncode == 0, result.stderr
    assert tree(root) == before


def test_an_undo_killed_midway_is_finished_by_a_rerun(tmp_path):
    root = hostile_root(tmp_path)
    before = tree(root)
    report = recover(root)
    from ironwal_cli.engine.store import confined

    calls = 0
    real_put = confined.ConfinedRoot.put

    def put_then_fail(self, path, state):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(5, "injected failure")
        real_put(self, path, state)
    confined.ConfinedRoot.put = put_then_fail
    try:
        try:
            undo_recover(root, report.run)
        except OSError:
            pass
    finally:
        confined.ConfinedRoot.put = real_put
    assert calls == 3
    undo_recover(root, report.run)
    assert tree(root) == before


def test_a_seals_idx_changed_after_the_run_is_left_as_it_is(tmp_path):
    """seals.idx is a cache: an append after the run that sealed a segment must not block the undo."""
    root = tmp_path / "wal"
    build(root)
    (root / STREAM / "lost.idx").write_bytes(b"junk")  # an unreadable lost.idx: recover rewrites it
    seals = root / STREAM / "seals.idx"
    seals.unlink()  # recover writes it anew
    report = recover(root)
    assert report.run and seals.exists()
    seals.write_bytes(seals.read_bytes() + b"\0" * 8)  # as if later sealing had changed it
    later = seals.read_bytes()
    undone = undo_recover(root, report.run)
    assert undone.notes == [(f"{STREAM}/seals.idx", "changed since the run (a cache): left as it is")]
    assert seals.read_bytes() == later and (root / STREAM / "lost.idx").read_bytes() == b"junk"
