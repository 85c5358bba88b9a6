"""``ironwal inspect PATH...``: several files at once, each as it would be alone, each row naming its file."""

from __future__ import annotations

import json

from pipe_support import run

from ironwal_cli.errors import EXIT_NOT_FOUND
from ironwal_cli.ops.append import append_values


def _root(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "a", [b"a0", b"a1"])
    append_values(root, "b", [b"b0"])
    append_values(root, "b", [b"b1\n"])
    return root, "a/00000000000000000000.wal", "b/00000000000000000000.wal"


def test_json_is_one_object_per_path_in_the_order_given(tmp_path):
    root, seg_a, seg_b = _root(tmp_path)
    result = run("inspect", "-r", str(root), seg_b, seg_a, "b/segments.idx", "--json")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["path"], o["kind"]) for o in objects] == [
        (str(root / seg_b), "segment"), (str(root / seg_a), "segment"), (str(root / "b/segments.idx"), "index")]
    assert [r["start_id"] for r in objects[0]["rows"]] == [0, 1] and objects[1]["rows"][0]["count"] == 2
    alone = json.loads(run("inspect", "-r", str(root), seg_b, "--json").stdout)
    assert alone == objects[0]  # each as it would be alone


def test_a_table_in_a_pipe_names_the_file_of_each_row(tmp_path):
    root, seg_a, seg_b = _root(tmp_path)
    lines = run("inspect", "-r", str(root), seg_a, seg_b).stdout.decode().splitlines()
    assert lines[0].split("\t")[:3] == ["path", "offset", "start_id"]
    rows = [line.split("\t") for line in lines[1:] if not line.startswith("path\t")]
    assert [(r[0], r[2]) for r in rows] == [(str(root / seg_a), "0"), (str(root / seg_b), "0"),
                                           (str(root / seg_b), "1")]
    alone = run("inspect", "-r", str(root), seg_a).stdout.decode().splitlines()
    assert alone[0].split("\t")[0] == "offset"  # one path: the table as before


def test_entries_of_several_segments(tmp_path):
    root, seg_a, seg_b = _root(tmp_path)
    result = run("inspect", "-r", str(root), seg_a, seg_b, "--entries", "-F", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["path"], [e["id"] for e in r["entries"]]) for r in rows] == [
        (str(root / seg_a), [0, 1]), (str(root / seg_b), [0]), (str(root / seg_b), [1])]
    raw = run("inspect", "-r", str(root), seg_a, seg_b, "--entries", "-F", "hex")
    assert raw.stdout == b"6130\n6131\n6230\n62310a\n"
    marks = [line for line in raw.stderr.decode().splitlines() if line.startswith("# path=")]
    assert marks == [f"# path={root / seg_a}", f"# path={root / seg_b}"]


def test_a_missing_path_prints_nothing(tmp_path):
    root, seg_a, _ = _root(tmp_path)
    result = run("inspect", "-r", str(root), seg_a, "b/99.wal")
    assert result.returncode == EXIT_NOT_FOUND and result.stdout == b""
    assert result.stderr.decode().startswith("ironwal: error: b/99.wal: no such file")
