"""The writer's picture of a stream's tail: the active segment, its size, its entries, the next id.

Loaded under the flock from the files (``_load_tail``): the listing, an index rebuilt or
completed as the crate would, the active segment checked whole or only past a prefix already
known good (one this writer verified, or one ``seals.idx`` vouches for), and a torn final frame cut
to quarantine. Under every later lock two stats (``_tail_unchanged``: the segment's inode and size,
the index's size, against the stamp ``_remember`` took) say whether anyone else wrote since, so an
unchanged tail is not read again. A mixin of ``StreamWriter``: it owns ``_active``, ``_size``,
``_count``, ``_next``, ``_index_size``, ``_index_empty``, ``_stamp`` and ``_synced`` (from a seal).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DamagedTailError, RefusedError
from ...spec.codec import INDEX_ID, encode_index
from ..store.files import append_synced, atomic_write
from ..store.listing import OVERSIZED_FILE, StreamListing
from ..store.names import INDEX_NAME, segment_name
from ..store.roots import foreign_stream_message
from ..store.seals import matching, read_seals
from .active_segment import measure_active


class TailState:
    """Loading and re-checking the tail, for ``StreamWriter``."""

    _active: int  # start id of the active segment
    _size: int  # its size in bytes
    _count: int  # entries in it (from the file: fix 1)
    _next: int  # the id the next entry gets
    _index_size: int  # size of segments.idx when last seen
    _index_empty: bool  # an empty index means "segment 0 only"
    _stamp: tuple[int, int] | None  # (inode, size) of the active segment when last seen
    _synced: int  # size of the active segment at its last fdatasync (-1: not known)
    _segment_name_cache: tuple[int, str] | None

    def _tail_unchanged(self) -> bool:
        """Whether no one changed the tail since our last write: two stats, checked under every lock."""
        if self._stamp is None:
            return False
        try:  # names looked up in the locked directory itself: cheaper than whole paths
            st = os.stat(self._segment_name(), dir_fd=self._dir_fd)
            index_size = os.stat(INDEX_NAME, dir_fd=self._dir_fd).st_size
        except FileNotFoundError:
            return False
        return st.st_ino == self._stamp[0] and st.st_size == self._stamp[1] and index_size == self._index_size

    def _segment_name(self) -> str:
        """The active segment's file name, formatted once per active segment."""
        cached = self._segment_name_cache
        if cached is None or cached[0] != self._active:
            cached = self._segment_name_cache = (self._active, segment_name(self._active))
        return cached[1]

    def _load_tail(self, check: bool = False) -> None:
        """Find the active segment and the next id from the files, refusing a damaged tail (and,
        with ``check``, a foreign writer, before anything here writes)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._wrote = False
        layout = StreamListing.read(self.path)
        if layout.foreign:  # `append -r . man x`: not one byte into a folder of other files
            raise RefusedError(f"{foreign_stream_message(self.path)}; refusing to write into it")
        if check:
            self._refuse_foreign(segment_name(layout.active_id() or 0))
        index_path = self.path / INDEX_NAME
        if layout.unsound.get(INDEX_NAME, ("",))[0] == OVERSIZED_FILE:
            # Far more than any index of these segments: not ours to drop unquarantined. recover keeps it.
            raise DamagedTailError(index_path, None, f"{layout.unsound[INDEX_NAME][1]}; refusing to append: "
                                   "run `ironwal recover` first", kind=OVERSIZED_FILE)
        if layout.index_ids is None:
            # Missing or unreadable: rebuilt from the segment names, as the crate does.
            atomic_write(index_path, encode_index(layout.segment_ids or [0]))
            layout = StreamListing.read(self.path)
        active = layout.active_id() or 0
        if active not in layout.index_ids and not (active == 0 and not layout.index_ids):
            # A segment created but not yet indexed (crash inside a rotation): index it now.
            append_synced(index_path, INDEX_ID.pack(active))
        seg_path = self.path / segment_name(active)
        known = self._verified_prefix(active, seg_path)
        if known is None:
            known = self._sealed_prefix(active)
            self._synced = known[0] if known is not None else -1  # a seal follows a sync
        self._active = active
        try:
            self._size, self._count, self._next = measure_active(seg_path, active, known)
        except DamagedTailError as err:
            if not err.incomplete:
                raise  # a torn final frame is the only damage the writer repairs itself
            self._cut_torn_tail(seg_path, err)
            self._size, self._count, self._next = measure_active(seg_path, active)
        self._index_size = os.stat(index_path).st_size
        self._index_empty = self._index_size == 0
        self._remember()

    def _cut_torn_tail(self, seg_path: Path, err: DamagedTailError) -> None:
        """Move an unacknowledged partial write to quarantine (undoable, as recover does) and say so."""
        from ..repair.tail import REASON, cut_torn_tail

        message = err.detail.split(";")[0]
        removed = os.path.getsize(seg_path) - err.offset
        run = cut_torn_tail(self.root, self.name, seg_path, err.offset, message)
        self.on_warning(f"{seg_path}: {REASON} ({message}): {removed} bytes from offset {err.offset} "
                        f"moved to {run} (ironwal recover --undo {run.name} puts them back)")


    def _remember(self) -> None:
        try:
            st = os.fstat(self._fd) if self._fd is not None else os.stat(self.path / segment_name(self._active))
            self._stamp = (st.st_ino, st.st_size)
        except FileNotFoundError:
            self._stamp = None

    def _verified_prefix(self, active: int, path: Path) -> tuple[int, int, int] | None:
        """(size, entries, next id) already checked in ``active`` when only appends happened since.

        Same segment, same inode, not shorter: another writer appended, so only its frames
        need checking (the lock makes appends the only change a writer can make under us).
        """
        if self._stamp is None or active != self._active:
            return None
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        if st.st_ino != self._stamp[0] or st.st_size < self._size:
            return None
        return self._size, self._count, self._next

    def _sealed_prefix(self, active: int) -> tuple[int, int, int] | None:
        """(size, entries, next id) of the active segment from its seal, when its stat still matches:
        it was checked whole and synced when sealed, and nothing has written to it since."""
        records, _bad = read_seals(self.path)
        seal = matching(records, {active: segment_name(active)}, self.path).get(active)
        if seal is None:
            return None
        return seal.size, seal.end_id - seal.start_id, seal.end_id

