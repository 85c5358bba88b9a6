"""``ironwal backup list`` and ``ironwal backup verify``: what a destination holds, and whether all
of it is whole, without a restore.

verify reads every object each generation names (once, however many generations share it),
checks its size and sha256 against the manifest, and walks every stored segment frame by frame
(every CRC, ids in sequence from the segment's first id up to the next id the manifest
records, ending on a frame boundary). It writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ...errors import FormatError
from .destinations import Destination, open_destination
from .generations import Generation, load_generations, resolve_generation
from .pieces import FrameWalk, read_piece


@dataclass
class GenerationInfo:
    generation: str
    created: str | None
    streams: dict[str, list[int]]  # name -> [first_id, next_id]
    bytes: int
    sent_bytes: int
    checkpoints: int
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _info(gen: Generation) -> GenerationInfo:
    body = gen.manifest
    if body is None:
        return GenerationInfo(gen.id, None, {}, 0, 0, 0, gen.error)
    return GenerationInfo(gen.id, body["created"], {s["name"]: [s["first_id"], s["next_id"]] for s in body["streams"]},
                          body["bytes"], body["sent_bytes"], len(body.get("checkpoints", [])))


def list_generations(dest: str | os.PathLike | Destination) -> list[GenerationInfo]:
    """Every generation of ``dest``, oldest first (an unreadable manifest is listed with its error)."""
    return [_info(g) for g in load_generations(open_destination(dest))]


@dataclass
class BackupProblem:
    generation: str
    path: str  # the stored file (stream/segment, or a root file), or the object's key
    offset: int | None
    kind: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BackupReport:
    generations: list[str] = field(default_factory=list)
    objects: int = 0  # distinct objects read
    bytes: int = 0
    frames: int = 0
    problems: list[BackupProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "generations": self.generations, "objects": self.objects, "bytes": self.bytes,
                "frames": self.frames, "problems": [p.to_dict() for p in self.problems]}


def verify_backup(dest: str | os.PathLike | Destination, generation: str | None = None, *,
                  every: bool = True, on_progress: Callable[[int, int], None] | None = None) -> BackupReport:
    """Check ``generation`` (None and ``every``: all of them; None alone: the latest)."""
    destination = open_destination(dest)
    if generation is None and every:
        gens = load_generations(destination)
    else:
        gens = [resolve_generation(destination, generation)]
    report = BackupReport()
    checked: dict[str, str | None] = {}  # digest -> problem message (None: good)
    walked: dict[tuple, list] = {}  # a segment's pieces -> its problems (shared by generations: walked once)
    total = sum(seg["size"] for g in gens if g.manifest for s in g.manifest["streams"] for seg in s["segments"])
    done = [0]
    for gen in gens:
        report.generations.append(gen.id)
        if gen.manifest is None:
            report.problems.append(BackupProblem(gen.id, gen.key, None, "bad_manifest", gen.error or "unreadable"))
            continue
        for file in gen.manifest["files"]:
            for part in file["parts"]:
                _piece(destination, part, checked, report, gen.id, file["name"])
        for stream in gen.manifest["streams"]:
            for seg in stream["segments"]:
                where = f"{stream['name']}/{seg['name']}"
                key = (seg["start_id"], seg["next_id"], tuple(p[0] for p in seg["parts"]))
                if key not in walked:
                    walked[key] = _walk(destination, seg, where, checked, report)
                    done[0] += seg["size"]
                    if on_progress is not None:
                        on_progress(done[0], total)
                for kind, offset, message in walked[key]:
                    report.problems.append(BackupProblem(gen.id, where, offset, kind, message))
    return report


def _piece(dest: Destination, part: list, checked: dict, report: BackupReport, gen: str, where: str) -> bytes | None:
    digest = part[0]
    if digest in checked and checked[digest] is not None:
        kind, message = checked[digest]
        report.problems.append(BackupProblem(gen, where, None, kind, message))
        return None
    try:
        data = read_piece(dest, part)
    except FormatError as err:
        checked[digest] = (err.kind, str(err))
        report.problems.append(BackupProblem(gen, where, None, err.kind, str(err)))
        return None
    if digest not in checked:
        report.objects += 1
        report.bytes += len(data)
    checked[digest] = None
    return data


def _walk(dest: Destination, seg: dict, where: str, checked: dict, report: BackupReport) -> list[tuple]:
    """[(kind, offset, message)] of a stored segment: each missing or damaged piece, else the first
    problem of its frames."""
    walk = FrameWalk(where, seg["start_id"])
    problems: list[tuple] = []
    size = 0
    try:
        for part in seg["parts"]:
            try:
                data = read_piece(dest, part)
            except FormatError as err:
                checked.setdefault(part[0], (err.kind, str(err)))
                problems.append((err.kind, size, str(err)))
                size += part[1]
                continue
            if part[0] not in checked:
                report.objects += 1
                report.bytes += len(data)
                checked[part[0]] = None
            if not problems:
                walk.feed(data)
            size += len(data)
        if problems:
            return problems
        walk.finish()
    except FormatError as err:
        return [(err.kind, err.offset, err.detail)]
    finally:
        report.frames += walk.frames
    if size != seg["size"]:
        return [("bad_size", size, f"{size} bytes stored, the manifest says {seg['size']}")]
    if walk.expected != seg["next_id"]:
        return [("bad_ids", size, f"frames end at id {walk.expected}, the manifest says {seg['next_id']}")]
    return []
