"""Verifying a WAL root, stream or segment: every check, read-only, never a lock.

``verify_root`` is the Python API behind ``ironwal verify``. It opens every file read-only
and writes nothing, so it is safe on a root a writer is using (it sees the tail as it was
when it looked) and on a read-only archive. Problems are data (``report.problems``), never
exceptions: only a target that does not exist raises (``UsageError``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..audit.report import Problem, Recorder, StreamTotals, VerifyReport
from ..audit.segments import audit_segment
from ..audit.sharded import audit_checkpoints, audit_offsets, audit_shard_dirs
from ..audit.streams import audit_stream, audit_streams, check_strays
from ..engine.store.names import INDEX_NAME, SEGMENT_SUFFIX, parse_segment_name, sanitize_key
from ..engine.store.roots import foreign_stream_message, is_foreign_stream, require_root, require_wal_root
from ..errors import NotFoundError, UsageError
from ..sharded.checkpoints import SHARDED_FILES, is_sharded_root

__all__ = ["Problem", "StreamTotals", "VerifyReport", "Target", "resolve_target", "verify_root"]

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True)
class Target:
    kind: str  # "root", "stream" or "segment"
    path: Path
    root: Path  # what reported paths are relative to

    @property
    def name(self) -> str:
        """The stream's name (for a root: the root itself)."""
        owner = self.path.parent if self.kind == "segment" else self.path
        return os.path.relpath(owner, self.root).replace(os.sep, "/")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _looks_like_root(path: Path) -> bool:
    """Subdirectories and no segment or index of its own: a root, not a stream."""
    names = os.listdir(path)
    if INDEX_NAME in names or any(n.endswith(SEGMENT_SUFFIX) for n in names):
        return False
    return is_sharded_root(path, damaged_too=True) or any((path / n).is_dir() for n in names)


def _owner_root(stream_dir: Path, root: Path) -> Path:
    return root if _same(stream_dir.parent, root) else stream_dir.parent


def resolve_target(root: str | os.PathLike, target: str | os.PathLike) -> Target:
    """A stream name (under ``root``), a stream directory, a root, or a segment file; NotFoundError
    for a directory that is neither an IronWal stream nor root (engine/store/roots.py)."""
    found = _resolve_target(root, target)
    if found.kind == "root":
        require_wal_root(found.path)
    elif found.kind == "stream" and is_foreign_stream(os.listdir(found.path)):
        raise NotFoundError(foreign_stream_message(found.path))
    return found


def _resolve_target(root: str | os.PathLike, target: str | os.PathLike) -> Target:
    root = Path(root)
    text = os.fspath(target)
    try:
        by_name = root / sanitize_key(text)
    except UsageError:
        by_name = None
    if by_name is not None and os.sep not in text and by_name.is_dir():
        return Target("stream", by_name, root)
    path = Path(text)
    if path.is_file():
        if parse_segment_name(path.name) is None:
            raise UsageError(f"{text}: not a segment file (NNNNNNNNNNNNNNNNNNNN.wal); `ironwal inspect` shows "
                             "any file of a root")
        return Target("segment", path, _owner_root(path.parent, root))
    if path.is_dir():
        if _same(path, root) or _looks_like_root(path):
            return Target("root", path, path)
        return Target("stream", path, _owner_root(path, root))
    if by_name is not None and by_name.is_dir():
        return Target("stream", by_name, root)
    require_root(root)  # a missing root is named as such
    raise NotFoundError(f"{text}: no such stream, stream directory or segment file (root {root})")


def _segment_bytes(target: Target) -> int:
    """Bytes of the segments a target covers: the progress bar's 100%."""
    if target.kind == "segment":
        dirs = []
        files = [target.path]
    else:
        dirs = [target.path] if target.kind == "stream" else [
            e.path for e in os.scandir(target.path) if e.is_dir(follow_symlinks=False)]
        files = []
    for d in dirs:
        try:
            files += [Path(d, n) for n in os.listdir(d) if parse_segment_name(n) is not None]
        except OSError:
            pass
    total = 0
    for f in files:
        try:
            total += os.stat(f).st_size
        except OSError:
            pass
    return total


class _Counter:
    def __init__(self, total: int, callback: Progress | None):
        self.done, self.total, self.callback = 0, total, callback

    def __call__(self, n: int) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)


def _by_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _audit_root(rec: Recorder, root: Path, report: VerifyReport, counter: _Counter, pool: Executor | None,
                jobs: int) -> None:
    dirs, files = [], []
    for e in os.scandir(root):
        (dirs if e.is_dir(follow_symlinks=False) else files).append(e.name)
    sharded = is_sharded_root(root, damaged_too=True)
    if sharded:  # a HEAD or checkpoints.log that is a directory is no stream: audit_checkpoints reports it
        dirs = [d for d in dirs if d not in SHARDED_FILES]
    dirs.sort(key=_by_bytes)
    state = audit_checkpoints(rec, root) if sharded else None  # before the shards: see audit.sharded
    check_strays(rec, root, [f for f in files if not (sharded and f in SHARDED_FILES)])
    if state is not None:
        audit_shard_dirs(rec, root, dirs, state.shard_count)

    def totals(path: Path) -> StreamTotals:
        return report.streams.setdefault(path.name, StreamTotals())

    paths = [root / name for name in dirs]
    next_ids = dict(zip(dirs, audit_streams(rec, paths, totals, counter, pool, ahead=2 * jobs,
                                            replays=report.replays), strict=True))
    if state is not None:
        audit_offsets(rec, root, state, next_ids)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def verify_root(root: str | os.PathLike, targets: Iterable[str | os.PathLike] | None = None, *,
                on_progress: Progress | None = None, jobs: int | None = None) -> VerifyReport:
    """Check ``root`` (or only ``targets`` in it) and return every problem found, with totals.

    ``jobs`` threads check segments side by side (default: the CPUs, at most 4; 1: no threads).
    The report is the same whatever ``jobs`` is: results are merged in order.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise UsageError(f"jobs {jobs}: must be at least 1")
    root = Path(root)
    targets = list(targets or [])
    if targets:
        plan = [resolve_target(root, t) for t in targets]
    else:
        plan = [Target("root", require_wal_root(root), root)]
    counter = _Counter(sum(map(_segment_bytes, plan)) if on_progress else 0, on_progress)
    report = VerifyReport()
    with ThreadPoolExecutor(jobs, thread_name_prefix="verify") if jobs > 1 else nullcontext() as pool:
        for target in plan:
            rec = Recorder(target.root, report.problems)
            if target.kind == "root":
                _audit_root(rec, target.path, report, counter, pool, jobs)
                continue
            totals = report.streams.setdefault(target.name, StreamTotals())
            if target.kind == "stream":
                audit_stream(rec, target.path, totals, counter, pool, replays=report.replays)
            else:
                audit_segment(rec, target.path, parse_segment_name(target.path.name), totals, counter)
    return report


def damage_behind_seals(root: str | os.PathLike, report: VerifyReport) -> list[str]:
    """The segments (root-relative) with problems whose seal still matches: damage that kept their
    size and times (bit rot), which a plain ``recover`` trusts its seal over; ``recover --full`` reads them."""
    from ..engine.store.seals import matching, read_seals

    found = []
    for problem in report.problems:
        path = Path(root) / problem.path
        start = parse_segment_name(path.name)
        if start is not None and start in matching(read_seals(path.parent)[0], {start: path.name}, path.parent):
            found.append(problem.path)
    return sorted(set(found))

