"""``recover``: repair a root after a crash, losing nothing; and undo a repair.

Each stream is planned and repaired under its writer lock, so recover never races an
appender. With ``dry_run`` only the plan is made. Otherwise the removed bytes and the
manifest go to the quarantine run folder, fsync'd, before any file of the root changes.

A segment sealed in ``seals.idx`` and unchanged since is not read (``full`` reads it): a crash
damages only what was not durable, and a sealed segment was checked and synced when it was
sealed. After a real run, every segment read and found intact (or written by the repair) is
sealed, so the next recover reads only what changed since.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import seams
from ..engine.repair.apply import apply_plan
from ..engine.repair.plan import KEEP, Plan
from ..engine.repair.quarantine import QuarantineRun, check_outside, default_quarantine, read_manifest, write_manifest
from ..engine.repair.stream import StreamPlanner, plan_stream
from ..engine.repair.undo import apply_undo, checked_entries, plan_undo, refusal
from ..engine.store.confined import ConfinedRoot
from ..engine.store.foreign_writers import refuse_foreign_writers, refuse_index_holders, segment_paths
from ..engine.store.locks import DEFAULT_LOCK_TIMEOUT, locked_dir
from ..engine.store.names import INDEX_NAME, parse_segment_name
from ..engine.store.roots import require_wal_root, stream_path
from ..engine.store.seals import SEALS_NAME
from ..errors import NotFoundError, UsageError
from ..sharded.checkpoints import is_sharded_root, log_path
from ..sharded.repair import checkpoint_floors, plan_checkpoints
from .listing import stream_names


@dataclass
class FileAction:
    path: str  # relative to the root
    action: str  # delete, keep, create, rewrite-metadata, rewrite; for undo: restore, remove
    what: str
    removed_bytes: int = 0

    def to_dict(self) -> dict:
        return {"path": self.path, "action": self.action, "what": self.what, "removed_bytes": self.removed_bytes}


@dataclass
class RecoverReport:
    root: str
    dry_run: bool
    run: str | None = None  # quarantine run folder, when something was repaired
    actions: list[FileAction] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, message): found, reported
    full: bool = False  # every segment read, seals ignored
    sealed_segments: int = 0  # segments not read: sealed, and unchanged since
    sealed_bytes: int = 0
    replay: dict[str, dict] = field(default_factory=dict)  # stream -> what the crate's replay sees after the repair

    @property
    def repairs_needed(self) -> bool:
        return any(a.action != KEEP for a in self.actions)

    def add(self, plan: Plan) -> None:
        removed: dict[str, int] = {}
        for r in plan.removals:
            removed[r.source] = removed.get(r.source, 0) + r.length
        for c in sorted(plan.changes, key=lambda c: c.path):
            self.actions.append(FileAction(c.path, c.kind, c.what, removed.get(c.path, 0)))
        self.notes += [(n.path, n.message) for n in plan.notes]

    def to_dict(self) -> dict:
        return {"root": self.root, "dry_run": self.dry_run, "run": self.run,
                "repairs_needed": self.repairs_needed, "actions": [a.to_dict() for a in self.actions],
                "notes": [{"path": p, "message": m} for p, m in self.notes], "full": self.full,
                "skipped_sealed": {"segments": self.sealed_segments, "bytes": self.sealed_bytes},
                "replay": self.replay}

    def add_replay(self, name: str, planner: StreamPlanner) -> None:
        """Where the crate's iter(0) fails after the repair (the first lost id still in the stream) and
        from which id an application resumes: every lost range is a filler the crate fails on."""
        first = min(planner.final, default=0)
        lost = [r for r in planner.lost if r[1] > first]
        if lost:
            self.replay[name] = {"lost": [list(r) for r in lost], "fails_at": max(lost[0][0], first),
                                 "resume_at": lost[0][1]}


def _stream_dirs(root: Path, streams) -> list[str]:
    if not streams:
        return stream_names(root)
    names = []
    for key in streams:
        path = stream_path(root, key)
        if not path.is_dir():
            raise NotFoundError(f"{path}: no such stream")
        names.append(path.name)
    return names


def _plan_stream(root: Path, name: str, floor: int, full: bool,
                 on_segment: Callable[[int], None] | None = None) -> tuple[Plan, StreamPlanner]:
    planner = plan_stream(root, name, floor, full, on_segment)
    return planner.plan, planner


def _segment_bytes(root: Path, names: list[str]) -> int:
    """Bytes of every segment of ``names``: a progress bar's 100%."""
    total = 0
    for name in names:
        with os.scandir(root / name) as entries:
            total += sum(e.stat().st_size for e in entries if parse_segment_name(e.name) is not None)
    return total


def recover(root: str | os.PathLike, streams: list[str] | None = None, *, dry_run: bool = False,
            quarantine: str | os.PathLike | None = None, full: bool = False,
            lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
            on_progress: Callable[[int, int], None] | None = None, force: bool = False) -> RecoverReport:
    """Repair ``streams`` (default: every stream, and the checkpoint files of a sharded root).

    ``full``: read every segment, also those sealed and unchanged since they were sealed (the
    way to find and repair damage that kept a segment's size and times: bit rot).
    ``on_progress(done, total)``: bytes of segments planned so far, of all (the CLI's bar).
    A repair is refused (ForeignWriterError) while a process that is not ironwal holds a stream
    open (a running IronWal application); ``force`` repairs anyway (dangerous).
    """
    seams.kill_after_syncs_from_env()
    root = require_wal_root(root)
    report = RecoverReport(str(root), dry_run, full=full)
    run = QuarantineRun(root, quarantine)  # checks the location even for a dry run; creates nothing yet
    sharded = is_sharded_root(root)
    floors = checkpoint_floors(root) if sharded else {}
    names = _stream_dirs(root, streams)
    on_segment = None
    if on_progress is not None:
        total, done = _segment_bytes(root, names), 0

        def on_segment(size: int) -> None:
            nonlocal done
            done += size
            on_progress(done, total)
    units: list[tuple[Path, Callable[[], tuple[Plan, StreamPlanner | None]]]] = [
        (root / name, lambda name=name: _plan_stream(root, name, floors.get(name, 0), full, on_segment))
        for name in names]
    if not streams and sharded:
        units.append((root, lambda: (plan_checkpoints(root), None)))
    check = not dry_run and not force
    if check:  # once for every stream: a walk of /proc
        refuse_index_holders([path / INDEX_NAME for path, _ in units if path != root], "recover it")
    try:
        for lock_path, make_plan in units:
            with locked_dir(lock_path, lock_timeout):
                if check:
                    files = [log_path(root)] if lock_path == root else segment_paths(lock_path)
                    refuse_foreign_writers(files, f"recover {lock_path.name!r}")
                plan, planner = make_plan()
                if not dry_run and not plan.empty:
                    run.save(plan)
                    apply_plan(root, plan)
                if planner and not dry_run:
                    _record_seals(root, planner, run)
            report.add(plan)
            if planner:
                report.add_replay(planner.rel, planner)
                report.sealed_segments += len(planner.skipped)
                report.sealed_bytes += sum(planner.skipped.values())
    except BaseException:
        if run.path is not None:  # what was done stays undoable; a rerun finishes the rest
            run.write_manifest("interrupted")
        raise
    if run.path is not None:
        run.write_manifest("complete")
        report.run = str(run.path)
    return report


def _record_seals(root: Path, planner: StreamPlanner, run: QuarantineRun) -> None:
    """Seal what the run read or wrote (after the repair: a failure is a note in the plan), and tell
    the run how ``seals.idx`` changed, so that its undo puts that file back too."""
    rel = f"{planner.rel}/{SEALS_NAME}"
    with ConfinedRoot(root) as tree:
        try:
            before = tree.state(rel)
        except ValueError:  # a directory or a FIFO there: the seals are not written either
            before = None
        planner.record_seals()
        try:
            after = tree.state(rel)
        except ValueError:
            after = before
    if before != after:
        run.note_cache(rel, before, after)


@dataclass
class UndoReport:
    root: str
    run: str
    dry_run: bool
    actions: list[FileAction] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, message): left alone, reported
    already_undone: str | None = None  # when the run was undone before: the time it was (nothing done now)

    def to_dict(self) -> dict:
        return {"root": self.root, "run": self.run, "dry_run": self.dry_run, "already_undone": self.already_undone,
                "actions": [a.to_dict() for a in self.actions],
                "notes": [{"path": p, "message": m} for p, m in self.notes]}


def resolve_run(root: str | os.PathLike, run: str | os.PathLike, quarantine=None) -> Path:
    """A run folder given as a path, or as a name inside the quarantine folder."""
    if not os.fspath(run):
        raise UsageError("--undo: an empty run name; give a run folder's name or path")
    path = Path(run)
    if path.is_dir():
        return path
    base = check_outside(root, quarantine) if quarantine is not None else default_quarantine(root)
    if (base / path).is_dir():
        return base / path
    raise NotFoundError(f"{run}: no such quarantine run (looked in {base})")


def undo_recover(root: str | os.PathLike, run: str | os.PathLike, *, quarantine=None, dry_run: bool = False,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, force: bool = False) -> UndoReport:
    """Put every file recover run ``run`` changed back as it was; refuses if any changed since, if
    the manifest was edited or names a path outside ``root`` (then nothing at all is changed), or
    (unless ``force``) while a process that is not ironwal holds one of those streams open.

    A run already undone is left alone: the report's ``already_undone`` says when it was undone.
    """
    seams.kill_after_syncs_from_env()
    root = Path(root)
    if not root.is_dir():
        raise NotFoundError(f"{root}: no such WAL root")
    run_dir = resolve_run(root, run, quarantine)
    report = UndoReport(str(root), str(run_dir), dry_run)
    manifest = read_manifest(run_dir)
    if manifest.get("state") == "undone":
        report.already_undone = str(manifest.get("undone_at", "?"))
        return report
    entries = checked_entries(run_dir, manifest)
    dirs = sorted({os.path.dirname(path) for path in entries})
    check = not dry_run and not force
    if check:
        refuse_index_holders([root / d / INDEX_NAME for d in dirs if d], "undo a recover run in it")
    with ConfinedRoot(root) as tree, ExitStack() as stack:
        for d in dirs:
            if d and not _confined_dir(tree, d):
                continue  # absent: nothing of it to put back (plan_undo refuses what it must)
            stack.enter_context(locked_dir(root / d, lock_timeout))
            if check:
                files = [log_path(root)] if not d else segment_paths(root / d)
                refuse_foreign_writers(files, f"undo a recover run in {d or root.name!r}")
        restore, report.notes = plan_undo(tree, run_dir, manifest)
        for path, state in sorted(restore.items()):
            report.actions.append(FileAction(path, "remove" if state is None else "restore",
                                             "created by the run: removed" if state is None else _put_back(state)))
        if not dry_run:
            apply_undo(tree, restore)
            write_manifest(run_dir, manifest, state="undone")
    return report


def _confined_dir(tree: ConfinedRoot, directory: str) -> bool:
    """``directory`` exists below the root, reached through no symbolic link; a refusal for a link."""
    try:
        return tree.is_dir(directory)
    except ValueError as err:
        raise refusal(Path(tree.root) / directory, str(err)) from None


def _put_back(state) -> str:
    if state.kind == "symlink":
        return f"put back as before the run (a symbolic link to {state.target})"
    return f"put back as before the run ({len(state.data)} bytes, mode {state.mode:04o})"
