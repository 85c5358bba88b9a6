"""ironwal: read, write, audit and repair IronWal 0.6 write-ahead logs.

The public Python API. Names are imported on first use so that ``import ironwal_cli`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "StreamWriter": "engine.writer",
    "WriteOptions": "engine.writer",
    "StreamReader": "engine.reader",
    "append_values": "ops.append",
    "append_from": "ops.append",
    "read_batches": "ops.read",
    "get_entry": "ops.read",
    "list_streams": "ops.listing",
    "stream_info": "ops.listing",
    "verify_root": "ops.verify",
    "inspect_file": "ops.inspect",
    "sanitize_key": "engine.names",
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
    "StorageError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ironwal_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
