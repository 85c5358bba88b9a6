"""Sharded roots (the crate's ShardedWal): key routing and the checkpoint log, beside the stream engine."""
