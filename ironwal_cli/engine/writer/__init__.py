"""The writer: appending frames to a stream with the crate's rotation and chunking rules, after
checking the active segment it appends to."""
