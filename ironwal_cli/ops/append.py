"""Appending from Python: a list of values, or a byte stream cut into entries."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from ..engine.store.names import sanitize_key
from ..engine.writer.writer import StreamWriter, WriteOptions
from ..errors import UnexpectedIdError, UsageError

Warn = Callable[[str], None]  # told when the writer quarantines a torn tail before appending


def append_values(root: str | os.PathLike, stream: str, values: Sequence[bytes | str],
                  options: WriteOptions | None = None, on_warning: Warn | None = None) -> range:
    """Append ``values`` as one batch (one atomic frame when it fits a segment); returns their ids.

    Entries are bytes; a ``str`` is taken as its UTF-8 bytes (what ``ironwal append s text`` stores),
    anything else is refused with a TypeError naming it. Durable on return in strict and batch modes.
    """
    refuse_new_stream_in_sharded_root(root, stream)
    values = [_entry_bytes(v, i) for i, v in enumerate(values)]
    with StreamWriter(root, stream, options, on_warning) as writer:
        if len(values) == 1:
            first = writer.append(values[0])
            if writer.options.sync == "batch":
                writer.sync()  # a printed id is a durable promise in batch mode too
            return range(first, first + 1)
        return writer.append_batch(list(values))


def _entry_bytes(value: bytes | str, index: int) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")  # surrogateescape: the bytes of a CLI argument back
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise TypeError(f"values[{index}] is {type(value).__name__}: an entry is bytes (or str, stored as UTF-8)")


INPUT_MODES = ("lines", "null", "whole", "jsonl", "hex", "base64")


def append_from(root: str | os.PathLike, stream: str, fd: int, *, mode: str = "lines",
                batch_size: int = 1000, linger: float = 0.05,
                options: WriteOptions | None = None, on_warning: Warn | None = None,
                expect_ids: bool = False) -> Iterator[range]:
    """Append entries read from file descriptor ``fd``; yields each batch's ids once it is durable.

    ``mode`` is how the input holds entries: ``lines``, ``null`` (NUL-terminated), ``whole`` (one
    entry), or one entry per line as ``tail -F jsonl|hex|base64`` prints it (decoded; a bad line
    raises ``InputError`` naming it before anything of its group is written). With
    ``expect_ids`` (jsonl only), each group is written only when the stream's next id is the id
    its first record names (``UnexpectedIdError`` otherwise).

    Each batch of up to ``batch_size`` entries is one frame (or one crate-style chunking of it).
    Batches that arrive together share one writer lock and, in batch mode, one fdatasync (there,
    what has arrived by the time a batch fills joins its group, up to ``GROUP_BYTES``).
    """
    from .entry_input import GROUP_BYTES, input_batches, read_raw_batches  # stdin only: not for `append s v`
    from .read_ahead import read_ahead

    if batch_size < 1:
        raise UsageError(f"--batch {batch_size}: must be at least 1")
    if mode not in INPUT_MODES:
        raise UsageError(f"input format {mode!r}: choose one of {', '.join(INPUT_MODES)}")
    if expect_ids and mode != "jsonl":
        raise UsageError("--expect-ids needs --input-format jsonl (the only input that names ids)")
    refuse_new_stream_in_sharded_root(root, stream)
    with StreamWriter(root, stream, options, on_warning) as writer:
        if mode in ("lines", "null", "whole"):
            group = GROUP_BYTES if writer.options.sync == "batch" else 0  # group commit: one fdatasync per group
            # Encoded as read (no object per entry), in a thread while this one writes (read_ahead).
            groups = input_batches(fd, mode, batch_size, linger) if mode == "whole" else \
                read_ahead(read_raw_batches(fd, mode, batch_size, linger, group), weight=payload_bytes)
            for group in groups:
                try:
                    ranges = writer.append_batches(group)
                except Exception as err:  # what was written whole (synced, strict) before it is acknowledged
                    yield from getattr(err, "completed", ())
                    raise
                yield from ranges
            return
        from .input_formats import decode_groups, expected_first

        for decoded in decode_groups(input_batches(fd, "lines", batch_size, linger), mode):
            expect = expected_first(decoded) if expect_ids else None
            try:
                ranges = writer.append_batches([b.entries for b in decoded], expect_first=expect)
            except UnexpectedIdError as err:  # say which input record it was
                err.args = (f"stdin line {decoded[0].first_line}: {err} (--expect-ids)",)
                raise
            yield from ranges


def payload_bytes(group: list) -> int:
    """The bytes of a group of raw batches: what ``read_ahead`` lets wait (the keyed append's too)."""
    return sum(len(batch.payload) for batch in group)


def refuse_new_stream_in_sharded_root(root: str | os.PathLike, stream: str) -> None:
    """A plain append may not add a stream that is not one of its shards to a sharded root
    (``sharded.shards.refuse_plain_stream``); an existing stream, or a root not made yet, costs one
    or two stats to pass."""
    name = sanitize_key(stream)
    if os.path.isdir(os.path.join(root, name)) or not os.path.isdir(root):
        return  # no new stream, or no root (so no sharded one) yet: nothing to refuse
    from ..sharded.shards import refuse_plain_stream  # only for a new stream: keeps `append s v` light

    refuse_plain_stream(root, name)
