"""The checks behind ``ironwal verify`` and ``ironwal inspect``: read-only, one concern per module.

frames (one frame's payload), segments (one file), streams (one stream directory),
checkpoints (records of ``checkpoints.log``), sharded (a sharded root's own files).
Each problem found is recorded with a stable kind from ``kinds.KINDS``; nothing here writes.
"""
