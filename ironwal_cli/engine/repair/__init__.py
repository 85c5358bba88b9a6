"""Repair: a repair as data (plan), the repairer's view of the scanner (items), planning one
stream, carrying a plan out, the writer's own torn-tail cut, the quarantine that keeps every
removed byte, and the exact undo of a run."""
