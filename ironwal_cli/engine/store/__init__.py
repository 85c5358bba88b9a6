"""The file store: what a stream directory holds and how its files are named, opened, replaced
(temp, fsync, rename, fsync of the directory), locked, sealed; which folders are WAL roots at all;
who else writes to them; and files of a root reached without following symbolic links."""
