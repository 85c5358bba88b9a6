"""Backups of a root, off the machine: ``backup_root`` (``ironwal backup``), ``list_generations``,
``verify_backup`` (``ironwal backup verify``), ``restore`` (``ironwal restore``) and ``watch``.

A destination is a directory or ``s3://bucket/prefix`` (``destinations.py``); its layout and
manifests are in ``generations.py``; what a run copies and why it is a state the root was
in, in ``push.py``.
"""

from __future__ import annotations

from .check import BackupProblem, BackupReport, GenerationInfo, list_generations, verify_backup
from .destinations import Destination, DirectoryDestination, S3Destination, open_destination
from .generations import PART_SIZE, Retention, apply_retention
from .push import BackupResult, backup_root, watch
from .restore import RestoreResult, parse_to_ids, restore

__all__ = [
    "PART_SIZE", "BackupProblem", "BackupReport", "BackupResult", "Destination", "DirectoryDestination",
    "GenerationInfo", "RestoreResult", "Retention", "S3Destination", "apply_retention", "backup_root",
    "list_generations", "open_destination", "parse_to_ids", "restore", "verify_backup", "watch",
]
