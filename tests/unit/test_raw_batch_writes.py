"""The bulk append's encoded batches (spec.records.RawBatch) are written byte for byte as the same
entries given as lists are: the same frames, the same crate-style cuts at segment limits, the
same rotations, the same ids."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.append import append_from
from ironwal_cli.ops.entry_input import input_batches


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
            for group in input_batches(f.fileno(), "lines", batch, linger=0.0):
                ids_lists += [i for r in writer.append_batches(group) for i in r]
        assert ids_encoded == ids_lists == list(range(len(entries)))
        assert files_of(encoded) == files_of(lists)


def test_without_the_c_module_appends_write_the_same_files(tmp_path):
    """The Python twins (no C module built) write byte for byte what the C walks write: a plain
    bulk append and a routed (-K) one, through the real CLI."""
    import subprocess
    import sys

    records = b"".join(b"k%d\t%s\n" % (i % 37, b"v" * (i % 50)) for i in range(3000)) + b"k1\tlast"
    source = tmp_path / "records"
    source.write_bytes(records)
    hide = "import sys; sys.modules['ironwal_cli.spec._walk'] = None; "
    runner = ("sys.argv = ['ironwal', *sys.argv[1:]]; from ironwal_cli.cli.launcher import main; main()")
    roots = {}
    for name, code in (("c", "import sys; " + runner), ("python", hide + runner)):
        for kind, args in (("plain", ["append", "s", "--batch", "7"]),
                           ("keyed", ["append", "--shards", "5", "-K", "\t", "--batch", "7"])):
            root = tmp_path / f"{name}-{kind}"
            with open(source, "rb") as stdin:  # a regular file: reads, and so groups, are the same each run
                proc = subprocess.run([sys.executable, "-c", code, *args, "-r", str(root), "-q", "--sync", "async",
                                       "--max-segment-size", "20k"], stdin=stdin, capture_output=True, timeout=60)
            assert proc.returncode == 0, proc.stderr
            roots[name, kind] = files_of(root)
    assert roots["c", "plain"] == roots["python", "plain"] and len(roots["c", "plain"]) > 3
    # A keyed append routes each group that has arrived as one (ops/read_ahead joins the groups that
    # came while the writer was busy), so its frame boundaries follow timing, as a pipe's do; what
    # each shard holds, in order and at the same ids, may not (route_batches' C and Python twins are
    # held byte-equal in tests/unit/test_routed_records.py).
    keyed = {name: _entries_by_shard(tmp_path / f"{name}-keyed") for name in ("c", "python")}
    assert keyed["c"] == keyed["python"] and sum(map(len, keyed["c"].values())) == 3001
    assert set(roots["c", "keyed"]) - {p for p in roots["c", "keyed"] if p.endswith(".wal")} == \
        set(roots["python", "keyed"]) - {p for p in roots["python", "keyed"] if p.endswith(".wal")}


def _entries_by_shard(root: Path) -> dict[str, list[tuple[int, bytes]]]:
    from ironwal_cli import StreamReader

    return {d.name: [(i, e) for first, batch in StreamReader(root, d.name).batches(0)
                     for i, e in enumerate(batch, first)]
            for d in sorted(root.iterdir()) if d.is_dir()}
