"""Hypothesis strategies for ``iwref write`` scripts: whatever an application can make the crate
write (every option, pre-created stream directories, rotations, reopens, truncate, sharded roots
with checkpoints, compaction and prune), in scripts small enough that a run stays fast."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

STREAMS = ["s", "t", "u"]


def value(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


# Entries are bytes: empty, binary, newline-holding, and long compressible runs (LZ4 takes them).
entry_bytes = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"", b"\n", b"a\nb", b"\x00\xff\r\n"]),
    st.builds(lambda b, n: bytes([b]) * n, st.integers(0, 255), st.integers(100, 3000)),
)

options = st.fixed_dictionaries({}, optional={
    "sync": st.sampled_from(["strict", "batch", "async"]),
    "max_segment_size": st.integers(60, 4000),
    "max_entries_per_segment": st.integers(1, 6),
    "compression": st.booleans(),
    "min_compression_size": st.sampled_from([0, 1, 64, 1024]),
    "read_strategy": st.sampled_from(["io", "mmap"]),
    "write_buffer_size": st.sampled_from([64, 4096, 65536]),
})


def _plain_op(stream: str):
    return st.one_of(
        st.builds(lambda v: {"op": "append", "stream": stream, "value": value(v)}, entry_bytes),
        st.builds(lambda vs: {"op": "append_batch", "stream": stream, "values": [value(v) for v in vs]},
                  st.lists(entry_bytes, max_size=6)),
        st.builds(lambda n: {"op": "append_many", "stream": stream, "count": n, "fmt": "e{i}\n"},
                  st.integers(1, 25)),
    )


@st.composite
def plain_scripts(draw) -> tuple[dict, list[str]]:
    """(script, stream directories to create before the crate opens the root)."""
    ops: list[dict] = []
    written: set[str] = set()
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["write", "write", "write", "reopen", "truncate"]))
        if kind == "reopen":
            ops.append({"op": "reopen"})
        elif kind == "truncate" and written:
            ops.append({"op": "truncate", "stream": draw(st.sampled_from(sorted(written))),
                        "id": draw(st.integers(0, 60))})
        else:
            stream = draw(st.sampled_from(STREAMS))
            op = draw(_plain_op(stream))
            ops.append(op)
            if op.get("values") != []:  # the crate's truncate of a stream never written fails
                written.add(stream)
    pre = draw(st.lists(st.sampled_from(STREAMS), unique=True, max_size=2))
    return {"options": draw(options), "ops": ops}, pre


@st.composite
def sharded_scripts(draw) -> dict:
    shards = draw(st.integers(1, 4))
    keys = st.binary(min_size=0, max_size=6)
    ops: list[dict] = []
    checkpoints: list[str] = []  # the ids of the log's records, oldest first
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["append", "append", "batch", "for_key", "checkpoint", "checkpoint",
                                     "compact", "prune", "reopen"]))
        if kind == "append":
            ops.append({"op": "append", "key": value(draw(keys)), "value": value(draw(entry_bytes))})
        elif kind == "batch":
            pairs = draw(st.lists(st.tuples(keys, entry_bytes), max_size=6))
            ops.append({"op": "append_batch", "entries": [[value(k), value(v)] for k, v in pairs]})
        elif kind == "for_key":
            ops.append({"op": "append_batch_for_key", "key": value(draw(keys)),
                        "values": [value(v) for v in draw(st.lists(entry_bytes, min_size=1, max_size=5))]})
        elif kind == "checkpoint":
            cid = draw(st.sampled_from(["c1", "c2", "c3", "ckpt-\u00e9"]))
            ops.append({"op": "create_checkpoint", "id": cid})
            checkpoints.append(cid)
        elif kind == "compact":
            keep = draw(st.integers(1, 3))
            ops.append({"op": "compact_checkpoints", "keep": keep})
            checkpoints = checkpoints[-keep:]  # the crate keeps the newest records: prune only what is left
        elif kind == "prune" and checkpoints:
            ops.append({"op": "prune_before_checkpoint", "id": draw(st.sampled_from(checkpoints))})
        elif kind == "reopen":
            ops.append({"op": "reopen"})
    return {"options": draw(options), "shards": shards, "ops": ops}
