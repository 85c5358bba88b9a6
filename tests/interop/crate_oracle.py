"""The real IronWal 0.6.3 crate, driven through ``../shared/refcrate/iwref``: the oracle of every
claim that the crate reads what ironwal writes, and that ironwal reads what the crate writes.

Tests import these helpers instead of calling ``iwref`` by hand, so that the one place that knows
where the binary lives and how its JSON lines look is this module. ``IRONWAL_IWREF`` overrides the
path (a crate built elsewhere).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IWREF = Path(os.environ.get("IRONWAL_IWREF") or REPO.parent / "shared" / "refcrate" / "iwref")


def iwref_present() -> bool:
    """Whether the crate's driver can be run here (absent on a fresh clone without ../shared)."""
    return IWREF.is_file() and os.access(IWREF, os.X_OK)


def run_iwref(*args: str | os.PathLike, stdin: bytes | None = None, timeout: float = 60.0,
              check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``iwref ARGS`` and return the finished process (stdout and stderr as bytes)."""
    proc = subprocess.run([str(IWREF), *map(str, args)], input=stdin, capture_output=True, timeout=timeout)
    if check and proc.returncode not in (0, 1):
        raise AssertionError(f"iwref {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc


def json_lines(data: bytes) -> list[dict]:
    """The JSON objects of iwref's output, one per non-empty line."""
    return [json.loads(line) for line in data.splitlines() if line.strip()]


@dataclass
class StreamReplay:
    """What the crate's ``iter(stream, 0)`` and ``get`` returned for one stream."""

    entries: dict[int, bytes] = field(default_factory=dict)  # id -> bytes, in iteration order
    order: list[int] = field(default_factory=list)  # ids as iter yielded them
    error: str | None = None  # the iterator's error, when it failed (it stops there)
    error_at: int | None = None  # the id it failed at
    gets: dict[int, bytes | None | str] = field(default_factory=dict)  # id -> bytes, None (none), or "error: ..."
    iter_from: dict[int, dict] = field(default_factory=dict)  # --iter-from ID -> its summary line


@dataclass
class RootReplay:
    """The crate's view of a whole root: ``dump`` parsed."""

    opened: bool
    open_error: str | None
    streams: dict[str, StreamReplay]
    lines: list[dict]


def dump(root: os.PathLike, *extra: str, stream: str | None = None) -> RootReplay:
    """Replay ROOT with the crate's own ``Wal::new`` + ``iter``/``get`` (on a copy of the root:
    the crate's open may rewrite files). ``extra`` are further ``iwref dump`` options
    (``--iter-from ID``, ``--get ID``, ``--get-extra K``, ``--mmap``)."""
    args = ["dump", root, *extra]
    if stream is not None:
        args += ["--stream", stream]
    proc = run_iwref(*args, check=False)
    lines = json_lines(proc.stdout)
    if proc.returncode == 3 or not lines or not lines[0].get("ok", False):
        err = (lines[0].get("error") if lines else None) or proc.stderr.decode().strip()
        return RootReplay(False, err, {}, lines)
    streams: dict[str, StreamReplay] = {}
    for line in lines:
        name = line.get("stream")
        if name is None:
            continue
        replay = streams.setdefault(name, StreamReplay())
        if "id" in line and "b64" in line:
            replay.entries[line["id"]] = base64.b64decode(line["b64"])
            replay.order.append(line["id"])
        elif line.get("kind") == "iter_from":
            replay.iter_from[line["from"]] = line
        elif "get" in line:
            if "b64" in line:
                replay.gets[line["get"]] = base64.b64decode(line["b64"])
            elif "error" in line:
                replay.gets[line["get"]] = "error: " + line["error"]
            else:
                replay.gets[line["get"]] = None
        elif "error" in line and "at_id" in line:
            replay.error, replay.error_at = line["error"], line["at_id"]
    return RootReplay(True, None, streams, lines)


def write(root: os.PathLike, script: dict, timeout: float = 120.0) -> list[dict]:
    """Apply a JSON script with the crate (``iwref write``): options, optional shards, ops.
    Returns one result line per op; raises when any op failed (use ``write_raw`` to see failures)."""
    proc = write_raw(root, script, timeout=timeout)
    results = json_lines(proc.stdout)
    if proc.returncode != 0:
        raise AssertionError(f"iwref write failed ({proc.returncode}): {results} {proc.stderr.decode()}")
    return results


def write_raw(root: os.PathLike, script: dict, timeout: float = 120.0) -> subprocess.CompletedProcess[bytes]:
    """``iwref write ROOT -`` with SCRIPT on stdin; the finished process, failed ops included."""
    return run_iwref("write", root, "-", stdin=json.dumps(script).encode(), timeout=timeout, check=False)


def start_write(root: os.PathLike, script: dict) -> subprocess.Popen[bytes]:
    """Start ``iwref write`` in the background (a script ending in a ``sleep`` op keeps the crate's
    handle and its open segment files alive, as a running application holds them). The caller
    waits for it or kills it."""
    proc = subprocess.Popen([str(IWREF), "write", str(root), "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(script).encode())
    proc.stdin.close()
    return proc


def route(shards: int, *keys: bytes) -> list[int]:
    """The shard the crate's ``ShardedWal::append(key)`` picks for each key."""
    args = ["route", str(shards), "--b64", *(base64.b64encode(k).decode() for k in keys)]
    lines = json_lines(run_iwref(*args).stdout)
    return [line["shard"] for line in lines if "shard" in line]


def wait_for_op(proc: subprocess.Popen[bytes], name: str, timeout: float = 30.0) -> list[dict]:
    """Read the result lines of a ``start_write`` process until the one of op ``name`` (for a
    ``sleep`` op: the crate is now idle with its handle open); returns the lines read. Raises
    AssertionError if the process ends or stays silent for ``timeout`` seconds first."""
    import selectors
    import time

    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines: list[dict] = []
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    lines.append(json.loads(line))
                    if lines[-1].get("op") == name:
                        return lines
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"iwref write: no {name!r} op within {timeout} s (got {lines})")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"iwref write ended before its {name!r} op: {lines}")
            buf += chunk


def finish(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> list[dict]:
    """Wait for a ``start_write`` process; the rest of its result lines. Raises when an op failed."""
    proc.stdin = None  # start_write closed it already
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"iwref write failed ({proc.returncode}): {out.decode()} {err.decode()}")
    return json_lines(out)


def dump_sharded(root: os.PathLike, shards: int, *extra: str) -> list[dict]:
    """``iwref dump-sharded ROOT N``: the crate's ``ShardedWal::new(options, N)`` view of a root
    (its checkpoints, the latest, and per shard the entries of ``iter_shard(s, 0)``), one dict
    per line; the first is ``{"kind": "open", "ok": ...}``."""
    return json_lines(run_iwref("dump-sharded", root, str(shards), *extra, check=False).stdout)


# The damage matrix's table (tests/interop/test_damage_matrix.py): each row travels as a user property
# of its test's report (also from xdist workers), and tests/conftest.py prints the table at the end.
DAMAGE_TABLE = "crate replay per damage kind: entries its iter(0) delivered, then its error if it failed loudly"


def record_damage_row(record_property, kind: str, before: str, after: str, kept: int) -> None:
    """One row: what the crate's replay (entries iter(0) delivered) saw before and after recover, and the
    entries recover kept. ``record_property`` is the test's pytest fixture."""
    record_property(f"row:{DAMAGE_TABLE}", json.dumps({"damage": kind, "crate before recover": before,
                                                        "crate after recover": after, "kept": kept}))
