"""The layout of a backup destination, its manifests (one per generation) and retention.

```
DEST/ironwal-backup            marker: "ironwal-backup 1" (a destination is refused without it
                               once it holds anything else)
DEST/objects/ab/abcd...        content-addressed pieces of files: the sha256 of the bytes is the name
DEST/pending/G                 a run under way (removed once its manifest is written)
DEST/generations/G.json        the manifest of generation G, written LAST: a generation is listed
                               only once every object it names is stored
```

A manifest is JSON ``{"manifest": {...}, "sha256": ...}`` (the digest of the manifest's
canonical JSON, so a damaged manifest is told from a good one). Its body: format, generation,
created, root, sharded, bytes, sent_bytes, sent_objects, streams (per stream: name, first_id,
next_id, index, head_state, lost, segments), files (checkpoints.log, HEAD, ironwal-shards) and
checkpoints (id, id_hex, offsets). Each segment and file: name, size, parts
(``[[sha256, size], ...]``, pieces of up to PART_SIZE bytes in order); a segment also
start_id, next_id and source (dev, ino, size, mtime_ns, ctime_ns at the backup: what an
incremental run compares).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ...errors import FormatError, NotFoundError, RefusedError
from .destinations import Destination, Listed

FORMAT = "ironwal-backup 1"
MARKER = "ironwal-backup"
OBJECTS, GENERATIONS, PENDING = "objects/", "generations/", "pending/"
MANIFEST_SUFFIX = ".json"
PART_SIZE = 4 << 20  # a piece of a file: an active segment that grew costs its new bytes and at most this
PENDING_STALE = 24 * 3600  # a pending marker this old is a killed run's, not a live one


def object_key(digest: str) -> str:
    return f"{OBJECTS}{digest[:2]}/{digest}"


def digest_of_key(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def sha256(data) -> str:
    return hashlib.sha256(data).hexdigest()


GENERATION_TIME = "%Y%m%dT%H%M%S%fZ"


def new_generation_id(after: str | None = None) -> str:
    """An id from the time (UTC, microseconds: ``20261202T143210123456Z``) that sorts after ``after``
    (the newest generation), even when the clock was set back."""
    us = time.time_ns() // 1000
    if after is not None:
        try:
            last = datetime.strptime(after, GENERATION_TIME).replace(tzinfo=UTC)
            us = max(us, int(last.timestamp()) * 10**6 + last.microsecond + 1)
        except ValueError:
            pass
    stamp = datetime.fromtimestamp(us // 10**6, UTC).replace(microsecond=us % 10**6)
    return stamp.strftime(GENERATION_TIME)


def encode_manifest(body: dict) -> bytes:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return json.dumps({"manifest": body, "sha256": sha256(canonical.encode())}, sort_keys=True).encode() + b"\n"


def decode_manifest(where: str, data: bytes) -> dict:
    """The manifest's body; FormatError when it is not JSON, not ours, or its digest is wrong."""
    try:
        outer = json.loads(data)
        body = outer["manifest"]
        digest = outer["sha256"]
    except (ValueError, KeyError, TypeError):
        raise FormatError(where, None, "not a backup manifest (unreadable JSON)", kind="bad_manifest") from None
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    if sha256(canonical.encode()) != digest:
        raise FormatError(where, None, "manifest damaged: its sha256 does not match its content",
                          kind="bad_manifest")
    if body.get("format") != FORMAT:
        raise FormatError(where, None, f"manifest of format {body.get('format')!r}, not {FORMAT!r}",
                          kind="bad_manifest")
    return body


@dataclass
class Generation:
    id: str
    key: str
    manifest: dict | None  # None: unreadable (``error`` says why)
    error: str | None = None

    def referenced(self) -> set[str]:
        """The digests of every object the generation needs."""
        return referenced(self.manifest or {})


def referenced(body: dict) -> set[str]:
    found = set()
    for stream in body.get("streams", []):
        for seg in stream["segments"]:
            found.update(part[0] for part in seg["parts"])
    for file in body.get("files", []):
        found.update(part[0] for part in file["parts"])
    return found


def generation_ids(dest: Destination) -> list[str]:
    """Ids of the generations a destination lists, oldest first."""
    ids = []
    for item in dest.list(GENERATIONS):
        name = item.key[len(GENERATIONS):]
        if name.endswith(MANIFEST_SUFFIX) and "/" not in name:
            ids.append(name[:-len(MANIFEST_SUFFIX)])
    return sorted(ids)


def load_generation(dest: Destination, gen: str) -> Generation:
    key = f"{GENERATIONS}{gen}{MANIFEST_SUFFIX}"
    data = dest.get(key)
    if data is None:
        raise NotFoundError(f"{dest.where(key)}: no generation {gen!r}")
    try:
        return Generation(gen, key, decode_manifest(dest.where(key), data))
    except FormatError as err:
        return Generation(gen, key, None, str(err))


def load_generations(dest: Destination) -> list[Generation]:
    require_backup(dest)
    return [load_generation(dest, gen) for gen in generation_ids(dest)]


def resolve_generation(dest: Destination, wanted: str | None) -> Generation:
    """The generation ``wanted`` names (an id, a unique prefix of one, or None: the latest whole one)."""
    require_backup(dest)
    ids = generation_ids(dest)
    if wanted is None:
        for gen in reversed(ids):
            found = load_generation(dest, gen)
            if found.manifest is not None:
                return found
        raise NotFoundError(f"{dest.url}: holds no generation (run ironwal backup first)")
    matches = [g for g in ids if g.startswith(wanted)]
    if len(matches) != 1:
        what = "no generation" if not matches else f"{len(matches)} generations start with"
        raise NotFoundError(f"{dest.url}: {what} {wanted!r} (see ironwal backup list)")
    found = load_generation(dest, matches[0])
    if found.manifest is None:
        raise FormatError(dest.where(found.key), None, found.error or "unreadable", kind="bad_manifest")
    return found


def require_backup(dest: Destination) -> None:
    """NotFoundError when ``dest`` holds no backup at all."""
    if dest.get(MARKER) is None:
        raise NotFoundError(f"{dest.url}: no ironwal backup there (no {MARKER} file)")


def init_destination(dest: Destination) -> None:
    """Mark a new destination; refuse one that holds other things than a backup (exit 7)."""
    marker = dest.get(MARKER)
    if marker is not None:
        if marker.strip() != FORMAT.encode():
            raise RefusedError(f"{dest.where(MARKER)}: a backup of format {marker.strip()[:40]!r}, "
                               f"not {FORMAT!r}")
        return
    stray = dest.list("")
    if stray:
        raise RefusedError(f"{dest.url}: holds other files ({stray[0].key}...) and no {MARKER} marker; "
                           "refusing to back up into it")
    dest.put(MARKER, FORMAT.encode() + b"\n")


def pending_marker() -> bytes:
    """What a run's ``pending/G`` holds: the host and process that make it."""
    return f"{socket.gethostname()} {os.getpid()}\n".encode()


def _live(dest: Destination, marker: Listed) -> bool:
    """Whether a pending marker is a run still under way: not older than PENDING_STALE, and not one
    of this host's whose process is gone (a killed run: its marker is removed here)."""
    if time.time() - marker.mtime >= PENDING_STALE:
        return False
    host, _, pid = (dest.get(marker.key) or b"").decode("utf-8", "replace").strip().partition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        dest.delete(marker.key)
        return False
    except PermissionError:
        pass
    return True


@dataclass
class Retention:
    deleted_generations: list[str]
    deleted_objects: int
    deleted_bytes: int
    kept_back: int  # unreferenced objects left for a run still under way


def apply_retention(dest: Destination, keep: int, running: str | None = None) -> Retention:
    """Keep the ``keep`` newest generations; delete the others' manifests, then every object that no
    generation left needs. Manifests go first, so a run killed here never leaves a listed
    generation missing an object. An unreadable manifest is never deleted, and no object
    is deleted while one is there (what it needs is unknown). Objects newer than the start of a
    run still under way (a ``pending/`` marker, other than ``running``) are left for it."""
    ids = generation_ids(dest)
    gens = [load_generation(dest, g) for g in ids]
    whole = [g for g in gens if g.manifest is not None]
    doomed = whole[:-keep] if keep > 0 else list(whole)
    for gen in doomed:
        dest.delete(gen.key)
    kept = [g for g in gens if g not in doomed]
    if any(g.manifest is None for g in kept):
        return Retention([g.id for g in doomed], 0, 0, 0)
    needed = set().union(*(g.referenced() for g in kept)) if kept else set()
    live = [p.mtime for p in dest.list(PENDING) if p.key[len(PENDING):] != running and _live(dest, p)]
    cutoff = min(live) - 60 if live else None  # a minute of slack for clocks between hosts
    count = size = kept_back = 0
    for obj in dest.list(OBJECTS):
        if digest_of_key(obj.key) in needed:
            continue
        if cutoff is not None and obj.mtime >= cutoff:
            kept_back += 1
            continue
        dest.delete(obj.key)
        count += 1
        size += obj.size
    return Retention([g.id for g in doomed], count, size, kept_back)
