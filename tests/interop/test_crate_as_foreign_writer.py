"""The real crate as the foreign writer (issue 11 item 5): while a crate application is running
(``iwref write`` holding its handle open through a ``sleep`` op), ``ironwal append``, ``recover``,
``prune`` and ``checkpoint create`` refuse with exit 4 naming it; once it has exited they all
work; and the crate's own replay afterwards holds every id once, in order.

The crate sleeps far longer than the test needs and is killed once every refusal is checked
(it must still be asleep then: the window was real, however loaded the machine); a second
crate process then appends, so the crate's next id after ironwal's refused attempts is still
its own. A fixed short sleep made the test fail on a loaded machine (the crate woke and exited
before the last command ran)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from crate_oracle import IWREF, dump, start_write, wait_for_op, write
from wal_invariants import cli

HOLD_MS = 600_000  # longer than any test: the crate is killed, never woken
STRICT = {"sync": "strict"}  # what the held crate acknowledged is in the files when it is killed


@contextmanager
def crate_holding(root, ops: list[dict], **script) -> Iterator[tuple[subprocess.Popen[bytes], list[dict]]]:
    """A crate application that ran ``ops`` and now sits idle with its handle open (a sleep op),
    and its result lines; killed at the end, after checking it was still asleep."""
    crate = start_write(root, {"options": STRICT, **script, "ops": [*ops, {"op": "sleep", "ms": HOLD_MS}]})
    try:
        results = wait_for_op(crate, "sleep")
        yield crate, results
        assert crate.poll() is None, "the crate exited before every refusal was checked"
    finally:
        crate.kill()
        crate.wait()


def refused_by_crate(r, pid: int) -> bool:
    lines = r.stderr.decode().splitlines()
    return (r.returncode == 4 and r.stdout == b"" and len(lines) == 1 and f"pid {pid} (" in lines[0]
            and IWREF.name in lines[0])


def assert_each_id_once(root, expected: dict[str, list[bytes]]) -> None:
    replay = dump(root)
    assert replay.opened, replay.open_error
    for stream, values in expected.items():
        got = replay.streams[stream]
        assert got.error is None, (stream, got.error, got.error_at)
        assert got.order == list(range(len(values))), (stream, got.order)  # no id twice, none skipped
        assert [got.entries[i] for i in got.order] == values


def test_a_running_crate_application_on_a_plain_root(tmp_path):
    root = tmp_path / "r"
    for value in ("a", "b", "c"):
        assert cli("append", "s", value, "-r", root, "--max-entries-per-segment", "1").returncode == 0
    with crate_holding(root, [{"op": "append", "stream": "s", "value": "crate-1"}]) as (crate, results):
        assert results[1]["id"] == 3
        for args in (["append", "s", "x"], ["recover"], ["prune", "s", "--before", "2"]):
            assert refused_by_crate(cli(*args, "-r", root), crate.pid), args
    results = write(root, {"options": STRICT, "ops": [{"op": "append", "stream": "s", "value": "crate-2"}]})
    assert results[-1]["id"] == 4  # the crate's next id was still its own
    assert cli("append", "s", "x", "-r", root).stdout == b"5\n"
    assert cli("recover", "-r", root).returncode == 0
    assert_each_id_once(root, {"s": [b"a", b"b", b"c", b"crate-1", b"crate-2", b"x"]})
    assert cli("prune", "s", "--before", "2", "-r", root).returncode == 0
    assert sorted(p.name for p in (root / "s").glob("*.wal")) == ["00000000000000000002.wal"]


def test_a_crate_application_that_reopened_the_root_and_is_idle(tmp_path):
    """After opening an existing root the crate holds every segments.idx (for reading) and no
    segment until it appends: recover and prune see it by those."""
    root = tmp_path / "r"
    assert cli("append", "s", "a", "b", "-r", root).returncode == 0
    with crate_holding(root, []) as (crate, _):
        assert refused_by_crate(cli("recover", "-r", root), crate.pid)
        assert refused_by_crate(cli("prune", "s", "--before", "1", "-r", root), crate.pid)
    write(root, {"options": STRICT, "ops": [{"op": "append", "stream": "s", "value": "crate"}]})
    assert_each_id_once(root, {"s": [b"a", b"b", b"crate"]})


def test_a_running_sharded_crate_application(tmp_path):
    root = tmp_path / "r"
    key = "user42"
    assert cli("append", "--shards", "4", "--key", key, "a", "-r", root).returncode == 0
    shard = cli("append", "--shards", "4", "--key", key, "b", "-r", root).stdout.split()[0].decode()
    stream = f"shard_{int(shard):02d}"
    held = [{"op": "append", "key": key, "value": "crate-1"}, {"op": "create_checkpoint", "id": "c0"}]
    with crate_holding(root, held, shards=4) as (crate, _):
        for args in (["append", "--shards", "4", "--key", key, "x"], ["checkpoint", "create", "c1", "--shards", "4"],
                     ["prune", "--checkpoint", "c0"], ["recover"], ["checkpoint", "compact", "--keep", "1"]):
            assert refused_by_crate(cli(*args, "-r", root), crate.pid), args
    write(root, {"options": STRICT, "shards": 4, "ops": [{"op": "append", "key": key, "value": "crate-2"}]})
    r = cli("append", "--shards", "4", "--key", key, "x", "-r", root)
    assert (r.returncode, r.stdout) == (0, f"{shard} 4\n".encode())
    for args in (["checkpoint", "create", "c1", "--shards", "4"], ["prune", "--checkpoint", "c0"], ["recover"]):
        assert cli(*args, "-r", root).returncode == 0, args
    assert_each_id_once(root, {stream: [b"a", b"b", b"crate-1", b"crate-2", b"x"]})
    assert os.path.exists(root / "checkpoints.log")
