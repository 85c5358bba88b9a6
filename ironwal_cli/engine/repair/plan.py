"""A repair as data: the new content of each file it touches, and every byte it removes.

Planning and applying are separate so that ``--dry-run`` is the plan alone, and so that the
rule that matters is checked before anything is touched: every byte of every file that
changes is either kept (at a known place in a file after the repair) or copied to
quarantine. ``undo_recipes`` proves it, and the same recipes let ``recover --undo`` put each
file back byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# What a change does to its file, in the order changes are applied: stray temp files go
# first (their content is already in quarantine), new files next (they only add), then the
# small metadata files, and last the segments that shrink, so that a crash before the end
# leaves every entry readable where it was.
DELETE = "delete"
KEEP = "keep"  # a file that already holds what the plan wants (a rerun after a crash)
CREATE = "create"
METADATA = "rewrite-metadata"
SHRINK = "rewrite"
PHASES = {DELETE: 0, KEEP: 1, CREATE: 2, METADATA: 3, SHRINK: 4}


@dataclass(frozen=True)
class Piece:
    """A run of bytes of a new file: copied from an original file, or literal."""

    source: str | None  # root-relative path of an original file; None for ``data``
    offset: int = 0
    length: int = 0
    data: bytes = b""

    @property
    def size(self) -> int:
        return self.length if self.source is not None else len(self.data)


@dataclass(frozen=True)
class Removal:
    """Bytes of an original file that the repair takes out: they go to quarantine first."""

    source: str
    offset: int
    length: int
    reason: str


@dataclass
class FileChange:
    path: str  # relative to the root
    kind: str  # DELETE, KEEP, CREATE, METADATA or SHRINK
    pieces: list[Piece]
    what: str  # one line for people: what is (or would be) done to this file and why

    @property
    def phase(self) -> int:
        return PHASES[self.kind]


@dataclass
class Note:
    """Something found that recover leaves alone (reported, never hidden)."""

    path: str
    message: str


@dataclass
class Plan:
    changes: list[FileChange] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    originals: dict[str, bytes | memoryview | None] = field(default_factory=dict)  # path -> bytes before

    @property
    def empty(self) -> bool:
        return not any(c.kind != KEEP for c in self.changes)

    def extend(self, other: Plan) -> None:
        self.changes += other.changes
        self.removals += other.removals
        self.notes += other.notes
        self.originals.update(other.originals)

    def kept_prefix(self, change: FileChange) -> int | None:
        """The length ``change`` cuts its own file to, when all it does is drop the file's tail
        (a torn tail: the common repair), so it can be applied by truncating the file in place."""
        if change.kind != SHRINK or len(change.pieces) != 1:
            return None
        piece = change.pieces[0]
        if piece.source != change.path or piece.offset != 0 or self.originals.get(change.path) is None:
            return None
        return piece.length

    def content(self, change: FileChange) -> bytes | memoryview:
        """The bytes ``change`` writes (a view of the original when it keeps a prefix of it: no copy)."""
        prefix = self.kept_prefix(change)
        if prefix is not None:
            return memoryview(self.originals[change.path])[:prefix]
        parts = []
        for p in change.pieces:
            if p.source is None:
                parts.append(p.data)
            else:
                parts.append(self.originals[p.source][p.offset:p.offset + p.length])
        return b"".join(parts)

    def removed_range(self, removal: Removal) -> tuple[bytes | memoryview, int, int]:
        """(the original's bytes, start, stop) of the removed range: no copy, it may be most of a big segment."""
        return self.originals[removal.source], removal.offset, removal.offset + removal.length


def digest(data) -> dict | None:
    """{"size", "sha256"} of some bytes, or None for a file that does not exist."""
    if data is None:
        return None
    return {"size": len(data), "sha256": sha256_in_steps(data).hexdigest()}


def sha256_in_steps(data, start: int = 0, stop: int | None = None, on_step=None):
    """sha256 of ``data[start:stop]`` a few MiB at a time, dropping the mapped pages read
    (scan.MappedPages: ``data`` is the whole map, never a slice of it, so their offsets are known)
    and calling ``on_step(view)`` on each piece: a 1 GiB planted segment costs a pass, not 1 GiB of RSS."""
    from ..frames.scan import MappedPages

    h = hashlib.sha256()
    view = memoryview(data)
    stop = len(view) if stop is None else stop
    pages = MappedPages(data, start)
    step = MappedPages.STEP
    for pos in range(start, stop, step):
        piece = view[pos:min(pos + step, stop)]
        h.update(piece)
        if on_step is not None:
            on_step(piece)
        pages.release_before(pos + step)
    return h


def undo_recipes(plan: Plan, blob_names: list[str]) -> dict[str, list[dict]]:
    """For each original file the plan changes or deletes: where each of its bytes will be.

    A recipe is a list of runs in file order, each ``{"blob", "length"}`` (in quarantine) or
    ``{"path", "offset", "length"}`` (in a file as it is after the repair). Raises
    RuntimeError when some byte would be neither kept nor quarantined: a bug in a planner,
    caught before anything is written.
    """
    placed: dict[str, list[tuple[int, int, dict]]] = {}
    for change in plan.changes:
        if change.kind == DELETE:
            continue
        pos = 0
        for p in change.pieces:
            if p.source is not None and p.length:
                placed.setdefault(p.source, []).append(
                    (p.offset, p.length, {"path": change.path, "offset": pos, "length": p.length}))
            pos += p.size
    for removal, blob in zip(plan.removals, blob_names, strict=True):
        if removal.length:
            placed.setdefault(removal.source, []).append(
                (removal.offset, removal.length, {"blob": blob, "length": removal.length}))
    recipes = {}
    for change in plan.changes:
        if change.kind in (CREATE, KEEP):
            continue
        original = plan.originals.get(change.path)
        if original is None:
            continue
        runs = sorted(placed.get(change.path, []), key=lambda r: r[0])
        pos = 0
        for offset, length, _ in runs:
            if offset != pos:
                raise RuntimeError(f"internal error: repair of {change.path} would lose or duplicate bytes "
                                   f"at offset {pos}; nothing was changed")
            pos += length
        if pos != len(original):
            raise RuntimeError(f"internal error: repair of {change.path} would lose bytes {pos}..{len(original)}; "
                               "nothing was changed")
        recipes[change.path] = [r[2] for r in runs]
    return recipes
