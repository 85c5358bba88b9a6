"""The public Python API as a newcomer meets it (issue 14.11): README's example runs as written,
type checkers and ``dir()`` see every exported name, and the API's defaults are sensible."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import ironwal_cli
from ironwal_cli import append_values, read_batches

REPO = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    readme = (REPO / "README.md").read_text()
    part = re.search(r"^## Python API\n(.*?)(?=^## )", readme, re.M | re.S)
    assert part, "README.md has no '## Python API' section"
    blocks = re.findall(r"^```python\n(.*?)^```", part.group(1), re.M | re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = readme_example()
    for name in ("append_values", "read_batches", "verify_root", "recover"):
        assert f"{name}(" in code  # append, read, verify and recover are all shown
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines()[0] == "0 b'order 1'"


def test_every_export_is_visible_to_type_checkers_and_dir():
    tree = ast.parse((REPO / "ironwal_cli" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    typed = {alias.name for node in block.body for alias in node.names}
    assert typed == set(ironwal_cli.__all__)
    assert set(ironwal_cli.__all__) <= set(dir(ironwal_cli))
    for name in ironwal_cli.__all__:
        assert getattr(ironwal_cli, name) is not None
    assert (REPO / "ironwal_cli" / "py.typed").is_file()


def test_read_batches_defaults_to_every_entry_from_the_first(tmp_path):
    append_values(tmp_path, "s", [f"e{i}".encode() for i in range(25)])
    entries = [e for _, batch in read_batches(tmp_path, "s") for e in batch]
    assert entries == [f"e{i}".encode() for i in range(25)]
    assert [e for _, b in read_batches(tmp_path, "s", last=3) for e in b] == [b"e22", b"e23", b"e24"]


def test_append_values_takes_str_as_utf8_and_refuses_other_types_clearly(tmp_path):
    assert append_values(tmp_path, "s", ["text", "caf\u00e9", b"raw"]) == range(0, 3)
    assert [e for _, b in read_batches(tmp_path, "s") for e in b] == [b"text", "caf\u00e9".encode(), b"raw"]
    with pytest.raises(TypeError, match=r"values\[1\] is int"):
        append_values(tmp_path, "s", [b"ok", 7])
    assert [e for _, b in read_batches(tmp_path, "s") for e in b][-1] == b"raw"  # nothing of the refused batch


def test_api_functions_say_what_they_do():
    for name in ("StreamReader", "list_streams", "stream_info", "read_batches", "append_values"):
        doc = getattr(ironwal_cli, name).__doc__
        assert doc and len(doc.split()) > 8, name


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0])
def test_a_lock_timeout_that_would_wait_for_ever_is_refused_by_the_api_too(tmp_path, timeout):
    import fcntl
    import os

    from ironwal_cli import StreamWriter, UsageError, WriteOptions

    append_values(tmp_path, "s", [b"a"])
    fd = os.open(tmp_path / "s", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # busy: the writer would have to wait
        with pytest.raises(UsageError, match="finite number of seconds"):
            with StreamWriter(tmp_path, "s", WriteOptions(lock_timeout=timeout)) as writer:
                writer.append(b"b")
    finally:
        os.close(fd)
