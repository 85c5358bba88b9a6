"""Random damage anywhere (overwrites, cuts, insertions, several at once): recover keeps every
untouched frame at its ids, quarantines exactly what it removes, leaves a clean root, does
nothing the second time, and undo gives the damaged root back byte for byte."""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recover_damage import STREAM, assert_clean, build_root, frames_of, read_all, snapshot

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.ops.recover import recover, undo_recover

_SOURCES: dict[bool, tuple[Path, dict]] = {}


def _source(compress: bool):
    if compress not in _SOURCES:
        base = tempfile.mkdtemp(prefix="recover-prop-")
        atexit.register(shutil.rmtree, base, True)
        root = Path(base) / "wal"
        _SOURCES[compress] = (root, build_root(root, compress))
    return _SOURCES[compress]


edit = st.tuples(
    st.sampled_from(["overwrite", "zero", "insert", "cut"]),
    st.integers(0, 1),  # which segment
    st.floats(0, 1),  # where, as a fraction of the file
    st.integers(1, 300),  # how many bytes
    st.binary(min_size=1, max_size=16),  # pattern for overwrite/insert
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compress=st.booleans(), edits=st.lists(edit, min_size=1, max_size=3))
def test_random_damage(tmp_path, compress, edits):
    source, written = _source(compress)
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    root = work / "wal"
    shutil.copytree(source, root)
    layout = StreamListing.read(root / STREAM)
    segs = [layout.segment_path(s) for s in layout.segment_ids]
    frames = {p: frames_of(p) for p in segs}
    originals = {p: p.read_bytes() for p in segs}
    for what, which, where, length, pattern in edits:
        path = segs[which]
        data = bytearray(path.read_bytes())
        pos = int(where * len(data))
        if what == "cut":
            del data[pos:]
        elif what == "insert":
            data[pos:pos] = (pattern * (length // len(pattern) + 1))[:length]
        else:
            fill = bytes(length) if what == "zero" else (pattern * (length // len(pattern) + 1))[:length]
            data[pos:pos + length] = fill[:max(len(data) - pos, 0)]
        path.write_bytes(bytes(data))
    # a frame whose bytes survived anywhere in its damaged segment is intact: its entries must survive
    survivors = {}
    for p in segs:
        now = p.read_bytes()
        for f in frames[p]:
            if now.find(originals[p][f.offset:f.end_offset]) >= 0:
                survivors.update((i, written[i]) for i in range(f.header.start_id, f.header.end_id))
    damaged = snapshot(root)

    report = recover(root)
    entries, _ = read_all(root, STREAM)
    assert all(written[i] == v for i, v in entries.items())  # nothing wrong is ever read
    assert survivors.items() <= entries.items()  # every intact frame kept, at its ids
    assert_clean(root)
    if report.run:
        manifest = json.loads((Path(report.run) / "manifest.json").read_bytes())
        for r in manifest["removed"]:
            blob = (Path(report.run) / r["blob"]).read_bytes()
            assert len(blob) == r["length"] and hashlib.sha256(blob).hexdigest() == r["sha256"]
    assert not recover(root).repairs_needed
    if report.run:
        undo_recover(root, report.run)
    assert snapshot(root) == damaged
