"""Streams on disk, in rooms (docs/architecture.md): ``store`` (the files of a stream directory,
locks, names, roots), ``frames`` (the one scanner and the header walks, LZ4), ``reader``,
``writer``, ``repair`` (plans, quarantine, undo) and ``seams`` (the test seams). Knows files;
decides nothing for the user."""
