"""The reader: a stream from any id, across segments, every CRC checked; and the frame marks a
reader keeps so later lookups in a segment start near their target."""
