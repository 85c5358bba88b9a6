"""format/FORMAT.md cannot drift from the samples or from the spec.

Each annotated hex dump in FORMAT.md sits under a marker naming its sample file and the
structure it shows. The test reads the dump back into bytes, checks they are the sample
file's bytes at the dump's offsets, parses them with ``ironwal_cli.spec.declarations``, and
checks that every ``field = value`` written beside the bytes is what the spec parsed (and that
nothing the spec parsed is left unannotated). It also checks the frame header table against
the declaration and runs the page's ``>>>`` examples.
"""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

from ironwal_cli.spec import declarations as decl

REPO = Path(__file__).resolve().parents[2]
FORMAT_MD = REPO / "format" / "FORMAT.md"
CONFORMANCE = REPO / "format" / "samples" / "conformance"
DUMP = re.compile(r"^<!-- sample: (\S+) struct=(\w+) -->\n```text\n(.*?)^```", re.M | re.S)
HEADER_FIELDS = [sc.name for sc in decl.frame_header.subcons]


def read_dump(body: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    """(first offset, bytes, [(field, value text)]) of one annotated dump."""
    start, data, fields = None, bytearray(), []
    for line in body.splitlines():
        offset, hexbytes, *note = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        if start is None:
            start = int(offset, 16)
        assert int(offset, 16) == start + len(data), f"offset {offset} does not follow the bytes before it"
        data += bytes.fromhex(hexbytes)
        if note:
            name, _, value = note[0].partition(" = ")
            fields.append((name, value))
    return start, bytes(data), fields


# ----- what the spec parses from a dump's bytes, named as the page names it -------------------------

def view_frame(data: bytes) -> dict:
    f = decl.frame.parse(data)
    assert f.crc_ok and len(data) == 32 + f.disk_size
    view = {name: f[name] for name in HEADER_FIELDS}
    for i, entry in enumerate(decl.raw_batch.parse(f.payload)):
        view[f"entry[{i}].length"] = len(entry)
        view[f"entry[{i}].bytes"] = entry
    assert len(view) == len(HEADER_FIELDS) + 2 * f.entry_count
    return view


def view_segments_idx(data: bytes) -> dict:
    return {f"id[{i}]": start for i, start in enumerate(decl.segments_idx.parse(data))}


def view_head_state(data: bytes) -> dict:
    h = decl.head_state.parse(data)
    return {"version": h.version, "name_len": len(h.segment_name.encode("ascii")), "segment_name": h.segment_name}


def view_checkpoint_record(data: bytes) -> dict:
    r = decl.checkpoint_record.parse(data)
    assert r.crc_ok and len(data) == 12 + r.body.length
    p = r.body.value
    view = {"magic": r.magic, "crc": r.crc, "length": r.body.length, "version": p.version,
            "id_len": len(p.checkpoint_id), "checkpoint_id": p.checkpoint_id, "timestamp_ns": p.timestamp_ns,
            "shard_count": p.shard_count}
    view.update({f"offset[{i}]": off for i, off in enumerate(p.offsets)})
    return view


def view_head(data: bytes) -> dict:
    checkpoint_id = decl.head.parse(data)
    return {"id_len": len(checkpoint_id), "checkpoint_id": checkpoint_id}


VIEWS = {"frame": view_frame, "segments_idx": view_segments_idx, "head_state": view_head_state,
         "checkpoint_record": view_checkpoint_record, "head": view_head}


def value_matches(text: str, actual) -> bool:
    """Does a value as the page writes it (``17``, ``0x4C``, ``"text"``, ``00 00``, ``0 (raw)``) equal ``actual``?"""
    if m := re.fullmatch(r"(\d+) \((\w+)\)", text):  # an enum: number and name
        return int(actual) == int(m.group(1)) and str(actual) == m.group(2)
    if text.startswith('"'):
        expected = json.loads(text)
        return actual == (expected.encode("utf-8") if isinstance(actual, bytes) else expected)
    if re.fullmatch(r"0x[0-9A-Fa-f]+", text):
        return not isinstance(actual, bytes) and int(actual) == int(text, 16)
    if re.fullmatch(r"\d+", text):
        return not isinstance(actual, bytes) and int(actual) == int(text)
    if re.fullmatch(r"[0-9a-f]{2}( [0-9a-f]{2})*", text):
        return actual == bytes.fromhex(text)
    raise AssertionError(f"cannot read the value {text!r}")


def dumps() -> list[tuple[str, str, str]]:
    return DUMP.findall(FORMAT_MD.read_text())


def test_the_page_has_the_dumps_the_issue_asks_for():
    kinds = {(path.split("/")[0], struct) for path, struct, _ in dumps()}
    assert ("single-append", "frame") in kinds  # the hex-annotated example frame
    assert {s for _, s in kinds} == set(VIEWS)


@pytest.mark.parametrize("path,struct,body", dumps(), ids=lambda v: v if "\n" not in v else "dump")
def test_dump_is_the_sample_and_its_annotation_is_what_the_spec_parses(path, struct, body):
    start, data, fields = read_dump(body)
    sample = (CONFORMANCE / path).read_bytes()
    assert data == sample[start:start + len(data)], f"the dump differs from {path}"
    view = VIEWS[struct](data)
    names = [name for name, _ in fields]
    assert sorted(names) == sorted(view), f"annotated {names}, the spec parses {list(view)}"
    wrong = [(name, value, view[name]) for name, value in fields if not value_matches(value, view[name])]
    assert not wrong, f"annotation differs from the parsed value: {wrong}"
    if struct == "frame":
        assert names[:len(HEADER_FIELDS)] == HEADER_FIELDS  # in disk order


def test_frame_header_table_matches_the_declaration():
    rows = re.findall(r"^\| (0x[0-9a-f]{2}) \| (\d+) \| `(\w+)` \|", FORMAT_MD.read_text(), re.M)
    expected, offset = [], 0
    for sc in decl.frame_header.subcons:
        expected.append((offset, sc.sizeof(), sc.name))
        offset += sc.sizeof()
    assert [(int(o, 16), int(s), n) for o, s, n in rows] == expected
    assert offset == 32


def test_examples_in_the_page_run(monkeypatch):
    monkeypatch.chdir(REPO)  # the examples open samples by their path in the repository
    text = re.sub(r"^```.*$", "", FORMAT_MD.read_text(), flags=re.M)  # a fence is not expected output
    test = doctest.DocTestParser().get_doctest(text, {}, "FORMAT.md", str(FORMAT_MD), 0)
    assert len(test.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
