"""The decoders behind ``append -I jsonl|hex|base64``, many cases fast: what the renderers of
``tail -F`` print decodes back exactly, and a bad line anywhere is named by its true number
with nothing of its group let through."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.cli.entry_output import renderer
from ironwal_cli.ops.input_formats import InputError, decode_groups

ENTRIES = st.lists(st.binary(max_size=30) | st.sampled_from([b"", b"\0", b"\n", b"\xed\xa0\x80", b"\\u"]),
                   min_size=1, max_size=25)


def _grouped(lines: list[bytes], cuts: list[int]) -> list[list[list[bytes]]]:
    """Lines cut into groups of batches at arbitrary places, as arrival and --batch would."""
    bounds = sorted({0, len(lines), *[c % (len(lines) + 1) for c in cuts]})
    batches = [lines[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return [batches[i:i + 2] for i in range(0, len(batches), 2)]


@settings(max_examples=150, deadline=None)
@given(fmt=st.sampled_from(["jsonl", "hex", "base64"]), entries=ENTRIES, first=st.integers(0, 2**64 - 30),
       cuts=st.lists(st.integers(0, 100), max_size=6))
def test_what_tail_prints_decodes_back(fmt, entries, first, cuts):
    lines = renderer(fmt)(first, entries).split(b"\n")[:-1]
    decoded = [b for group in decode_groups(_grouped(lines, cuts), fmt) for b in group]
    assert [e for b in decoded for e in b.entries] == entries
    if fmt == "jsonl":
        assert [i for b in decoded for i in b.ids] == list(range(first, first + len(entries)))
    starts = [1 + sum(len(x.entries) for x in decoded[:k]) for k in range(len(decoded))]
    assert [b.first_line for b in decoded] == starts


BAD = {"jsonl": [b"{", b"[]", b'{"len": 0}', b'{"b64": "!"}', b'{"text": 1}', b'{"id": -1, "text": ""}'],
       "hex": [b"0", b"zz", b"00 ", b"\xff"], "base64": [b"A", b"A===", b"@@@@", b"YQ==\r"]}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), fmt=st.sampled_from(["jsonl", "hex", "base64"]), entries=ENTRIES,
       cuts=st.lists(st.integers(0, 100), max_size=6))
def test_a_bad_line_is_named_and_its_group_withheld(data, fmt, entries, cuts):
    lines = renderer(fmt)(0, entries).split(b"\n")[:-1]
    at = data.draw(st.integers(0, len(lines)))
    lines.insert(at, data.draw(st.sampled_from(BAD[fmt])))
    groups = _grouped(lines, cuts)
    bad_group = next(k for k, g in enumerate(groups) if at < sum(len(b) for gg in groups[:k + 1] for b in gg))
    seen = []
    with pytest.raises(InputError) as err:
        for group in decode_groups(groups, fmt):
            seen.append(group)
    assert err.value.line == at + 1 and str(err.value).startswith(f"stdin line {at + 1}: ")
    assert len(seen) == bad_group  # every group before the bad one, and not the bad one
