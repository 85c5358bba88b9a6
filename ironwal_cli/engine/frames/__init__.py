"""Frames and walks: the one scanner of segment bytes (intact frame or located problem, never an
exception), the quick header walks behind id lookups, and LZ4 payloads."""
