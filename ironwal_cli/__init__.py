"""ironwal: read, write, audit and repair IronWal 0.6 write-ahead logs.

The public Python API (README, "Python API", shows append, read, verify and recover). Names are
imported on first use so that ``import ironwal_cli`` stays cheap (``ironwal append`` starts in
~70 ms); type checkers see them through the ``TYPE_CHECKING`` imports below, ``dir()`` through
``__dir__``, and ``py.typed`` marks the package as typed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "StreamWriter": "engine.writer.writer",
    "WriteOptions": "engine.writer.writer",
    "SYNC_MODES": "engine.writer.writer",
    "StreamReader": "engine.reader.reader",
    "append_values": "ops.append",
    "append_from": "ops.append",
    "read_batches": "ops.read",
    "get_entry": "ops.read",
    "list_streams": "ops.listing",
    "stream_info": "ops.listing",
    "verify_root": "ops.verify",
    "inspect_file": "ops.inspect",
    "sanitize_key": "engine.store.names",
    "append_keyed": "ops.sharded_append",
    "append_routed_from": "ops.sharded_append",
    "create_checkpoint": "ops.checkpoint",
    "list_checkpoints": "ops.checkpoint",
    "show_checkpoint": "ops.checkpoint",
    "compact_checkpoints": "ops.checkpoint",
    "prune_stream": "ops.prune",
    "prune_checkpoint": "ops.prune",
    "recover": "ops.recover",
    "undo_recover": "ops.recover",
    "RecoverReport": "ops.recover",
    "route": "sharded.routing",
    "shard_name": "sharded.routing",
    "IronwalError": "errors",
    "FormatError": "errors",
    "DamagedTailError": "errors",
    "GapError": "errors",
    "NotFoundError": "errors",
    "UsageError": "errors",
    "LockTimeoutError": "errors",
    "RefusedError": "errors",
    "StorageError": "errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what a type checker and an IDE see; at run time __getattr__ imports on first use
    from .engine.reader.reader import StreamReader
    from .engine.store.names import sanitize_key
    from .engine.writer.writer import SYNC_MODES, StreamWriter, WriteOptions
    from .errors import (
        DamagedTailError,
        FormatError,
        GapError,
        IronwalError,
        LockTimeoutError,
        NotFoundError,
        RefusedError,
        StorageError,
        UsageError,
    )
    from .ops.append import append_from, append_values
    from .ops.checkpoint import compact_checkpoints, create_checkpoint, list_checkpoints, show_checkpoint
    from .ops.inspect import inspect_file
    from .ops.listing import list_streams, stream_info
    from .ops.prune import prune_checkpoint, prune_stream
    from .ops.read import get_entry, read_batches
    from .ops.recover import RecoverReport, recover, undo_recover
    from .ops.sharded_append import append_keyed, append_routed_from
    from .ops.verify import verify_root
    from .sharded.routing import route, shard_name


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ironwal_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The lazy names too, so ``dir(ironwal_cli)`` and completion in a REPL show the whole API."""
    return sorted({*globals(), *_EXPORTS})
