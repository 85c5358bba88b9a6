"""The bulk append's encoded batches (spec.records.RawBatch) are written byte for byte as the same
entries given as lists are: the same frames, the same crate-style cuts at segment limits, the
same rotations, the same ids."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.append import append_from
from ironwal_cli.ops.entry_input import read_batches


def files_of(root: Path) -> dict[str, bytes]:
    """Every file of the root but seals.idx (a cache of each segment's inode and times: never alike)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "seals.idx"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=60),
       st.integers(1, 9), st.integers(40, 900), st.one_of(st.none(), st.integers(1, 12)), st.booleans())
def test_encoded_batches_write_the_same_files_as_entry_lists(entries, batch, max_size, max_entries, compress):
    options = WriteOptions(max_segment_size=max_size, max_entries_per_segment=max_entries, sync="async",
                           compress=compress, min_compress_size=64)
    data = b"".join(e + b"\n" for e in entries)
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        encoded, lists = Path(tmp) / "encoded", Path(tmp) / "lists"
        ids_encoded = [i for r in append_from(encoded, "s", f.fileno(), batch_size=batch, options=options) for i in r]
        f.seek(0)
        ids_lists = []
        with StreamWriter(lists, "s", options) as writer:
            for group in read_batches(f.fileno(), "lines", batch, linger=0.0):
                ids_lists += [i for r in writer.append_batches(group) for i in r]
        assert ids_encoded == ids_lists == list(range(len(entries)))
        assert files_of(encoded) == files_of(lists)
