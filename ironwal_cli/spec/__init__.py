"""The on-disk format: construct declarations (``declarations``), the CRC, and the fast codec."""
