"""Every problem kind the verifier reports: a stable snake_case name and what it means.

Scripts match on these names, and the man page lists them (a test keeps the two in step),
so a name is never changed once released. The scanner's own kinds are reused as they are.
"""

from __future__ import annotations

from ..engine.frames.scan import BAD_CRC, BAD_LENGTH, BAD_MAGIC, ID_OVERFLOW, TORN_HEADER, TORN_PAYLOAD
from ..engine.store.files import NOT_REGULAR_FILE
from ..engine.store.listing import OVERSIZED_FILE
from ..sharded.log_walk import (
    CHECKPOINT_BAD_CRC,
    CHECKPOINT_BAD_LENGTH,
    CHECKPOINT_BAD_MAGIC,
    CHECKPOINT_BAD_VERSION,
    CHECKPOINT_TORN,
)

# per frame
BAD_FRAME_TYPE = "bad_frame_type"
RESERVED_NONZERO = "reserved_nonzero"
BAD_LZ4 = "bad_lz4"
SIZE_MISMATCH = "size_mismatch"
BAD_BATCH = "bad_batch"
# per segment
SEGMENT_START_MISMATCH = "segment_start_mismatch"
IDS_BACKWARDS = "ids_backwards"
IDS_SKIP = "ids_skip"
TRAILING_BYTES = "trailing_bytes"
NOT_A_SEGMENT = "not_a_segment"
UNREADABLE = "unreadable"
# per stream
SEGMENT_GAP = "segment_gap"
REPLAY_STOPS_SILENTLY = "replay_stops_silently"
LOST_UNRECORDED = "lost_unrecorded"
SEGMENT_OVERLAP = "segment_overlap"
INDEX_MISSING = "index_missing"
INDEX_BAD_LENGTH = "index_bad_length"
INDEX_OUT_OF_ORDER = "index_out_of_order"
INDEX_MISSING_ID = "index_missing_id"
INDEX_UNKNOWN_ID = "index_unknown_id"
HEAD_STATE_INVALID = "head_state_invalid"
HEAD_STATE_MISSING_SEGMENT = "head_state_missing_segment"
HEAD_STATE_NOT_LAST = "head_state_not_last"
STRAY_TEMP_FILE = "stray_temp_file"
UNEXPECTED_FILE = "unexpected_file"
# sharded roots
SHARD_COUNT_MISMATCH = "shard_count_mismatch"
CHECKPOINT_OFFSET_BEYOND_END = "checkpoint_offset_beyond_end"
HEAD_INVALID = "head_invalid"
HEAD_UNKNOWN_CHECKPOINT = "head_unknown_checkpoint"
SHARD_DIR_BAD_NAME = "shard_dir_bad_name"
SHARD_DIR_OUT_OF_RANGE = "shard_dir_out_of_range"

KINDS: dict[str, str] = {
    BAD_MAGIC: "a frame header without the magic 0x4C57414C (damage in the middle of a segment)",
    BAD_CRC: "a complete frame whose CRC does not match its covered header fields and payload",
    BAD_LENGTH: "a frame whose disk_size runs past the end of the file while an intact frame follows",
    TORN_HEADER: "the file ends inside a frame header (a write cut short)",
    TORN_PAYLOAD: "the file ends inside a frame's payload (a write cut short)",
    BAD_FRAME_TYPE: "frame_type is neither 0 (raw) nor 1 (LZ4)",
    RESERVED_NONZERO: "the three reserved header bytes are not zero (the CRC does not cover them)",
    BAD_LZ4: "an LZ4 frame that does not decode",
    SIZE_MISMATCH: "the decoded batch length differs from uncompressed_size (the CRC does not cover it)",
    BAD_BATCH: "the batch does not parse into exactly entry_count entries, or bytes are left over",
    SEGMENT_START_MISMATCH: "the first frame does not start at the id in the segment's file name",
    IDS_BACKWARDS: "a frame starts below the ids already seen in its segment",
    IDS_SKIP: "a frame starts above the next expected id: ids are missing inside the segment",
    TRAILING_BYTES: "bytes after the last frame that are not a frame (garbage or zeros)",
    NOT_A_SEGMENT: "a segment file without a single frame: its first bytes are no frame header (bad magic at "
                   "offset 0), so it is not an IronWal segment at all",
    ID_OVERFLOW: "a segment name or a frame whose ids run past 2^64-1 (u64): no writer can make them",
    UNREADABLE: "a file or directory that cannot be read (permissions, I/O error)",
    NOT_REGULAR_FILE: "a FIFO, socket, device, directory or symbolic link where a segment, segments.idx, "
                      "head.state, lost.idx, checkpoints.log or HEAD should be: never opened nor followed",
    OVERSIZED_FILE: "segments.idx, head.state, lost.idx or HEAD larger than it can sensibly be (for "
                    "segments.idx and lost.idx: given the segment files); never decoded",
    SEGMENT_GAP: "ids missing between one segment and the next that lost.idx does not record (a segment file "
                 "deleted from the middle)",
    REPLAY_STOPS_SILENTLY: "ids missing between one segment and the next, recorded in lost.idx or not: the crate's "
                           "iterator ends there without an error (`ironwal recover` puts a filler segment there)",
    LOST_UNRECORDED: "a filler frame (ids recover found lost) whose ids lost.idx does not record",
    SEGMENT_OVERLAP: "a segment starts below the end of the segment before it",
    INDEX_MISSING: "the stream has no segments.idx",
    INDEX_BAD_LENGTH: "segments.idx is not a multiple of 8 bytes long",
    INDEX_OUT_OF_ORDER: "an id in segments.idx is smaller than the one before it",
    INDEX_MISSING_ID: "a segment file whose start id segments.idx does not list",
    INDEX_UNKNOWN_ID: "an id in segments.idx for which no segment file exists",
    HEAD_STATE_INVALID: "head.state does not parse (version, length, ASCII name)",
    HEAD_STATE_MISSING_SEGMENT: "head.state names a segment file that does not exist",
    HEAD_STATE_NOT_LAST: "head.state names a segment that is not the last one",
    STRAY_TEMP_FILE: "a *.tmp file left by an interrupted atomic replace (older than 10 s: a younger one may be "
                     "a replace in progress)",
    UNEXPECTED_FILE: "a file or directory that does not belong where it is",
    CHECKPOINT_TORN: "checkpoints.log ends inside a record",
    CHECKPOINT_BAD_MAGIC: "a checkpoint record without the magic CKPT",
    CHECKPOINT_BAD_CRC: "a checkpoint record whose CRC does not match its payload",
    CHECKPOINT_BAD_VERSION: "a checkpoint record of a version other than 1",
    CHECKPOINT_BAD_LENGTH: "a checkpoint payload whose id length or shard count does not fill it exactly",
    SHARD_COUNT_MISMATCH: "a checkpoint record whose shard count differs from the other records'",
    CHECKPOINT_OFFSET_BEYOND_END: "a checkpoint offset beyond that shard's next id",
    HEAD_INVALID: "HEAD does not parse (u16 length, then exactly that many bytes)",
    HEAD_UNKNOWN_CHECKPOINT: "HEAD names a checkpoint that checkpoints.log does not hold",
    SHARD_DIR_BAD_NAME: "a directory of a sharded root that is not named shard_NN",
    SHARD_DIR_OUT_OF_RANGE: "a shard directory whose number is not below the shard count",
}
