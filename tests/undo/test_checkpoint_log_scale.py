"""``recover`` on a big checkpoints.log is linear in its size (issue 17 item 10).

The walk used to re-slice the rest of the log for every record and for every resync attempt:
100,000 valid records took 11 s (49 s on the reporter's machine), a damaged range holding
20,000 "CKPT" magics longer still. Speed is never asserted in a test (tests/benchmarks/
bench_checkpoint_log.py times it); the work is: how often a record is framed at an offset and
how many bytes go through the CRC, which a linear walk keeps within a constant of the log's
records, magics and size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ironwal_cli.ops.recover import recover
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.sharded import log_walk
from ironwal_cli.sharded.repair import scan_log
from ironwal_cli.spec.codec import CHECKPOINT_MAGIC, Checkpoint, encode_checkpoint_record, encode_head

RECORDS = 100_000


def records(n: int) -> list[bytes]:
    return [encode_checkpoint_record(Checkpoint(b"cp%d" % i, i, (0, 0))) for i in range(n)]


class Work:
    """Counts the walk's work: records framed (``_framed`` calls) and bytes CRC'd."""

    def __init__(self, monkeypatch):
        self.framed = self.crc_bytes = 0
        real_framed, real_crc = log_walk._framed, log_walk.crc32

        def framed(data, pos):
            self.framed += 1
            return real_framed(data, pos)

        def crc32(chunk):
            self.crc_bytes += len(chunk)
            return real_crc(chunk)
        monkeypatch.setattr(log_walk, "_framed", framed)
        monkeypatch.setattr(log_walk, "crc32", crc32)


@pytest.fixture
def sharded(tmp_path) -> Path:
    root = tmp_path / "wal"
    append_keyed(root, b"k", [b"v"], shards=2)
    return root


def test_recover_dry_run_on_100000_valid_records(sharded, monkeypatch):
    log = b"".join(records(RECORDS))
    (sharded / "checkpoints.log").write_bytes(log)
    (sharded / "HEAD").write_bytes(encode_head(b"cp%d" % (RECORDS - 1)))
    work = Work(monkeypatch)
    report = recover(sharded, dry_run=True)
    assert not report.repairs_needed
    passes = 3  # recover reads the log more than once (audit, plan, shard count): a constant
    assert work.framed <= passes * RECORDS, f"{work.framed} records framed for {RECORDS} records"
    assert work.crc_bytes <= passes * len(log), f"{work.crc_bytes} bytes CRC'd of a {len(log)}-byte log"


def test_a_damaged_range_full_of_magics_is_one_range_and_linear(sharded, monkeypatch):
    recs = records(1000)
    magics = 20_000
    junk = CHECKPOINT_MAGIC * magics
    log = b"".join(recs[:500]) + junk + b"".join(recs[500:])
    (sharded / "checkpoints.log").write_bytes(log)
    (sharded / "HEAD").write_bytes(encode_head(b"cp999"))
    work = Work(monkeypatch)
    spans = list(scan_log(log))
    scan_work = (work.framed, work.crc_bytes)
    report = recover(sharded, dry_run=True)
    damaged = [s for s in spans if s.checkpoint is None]
    assert [(s.offset, s.length) for s in damaged] == [(sum(map(len, recs[:500])), len(junk))]
    assert [s.checkpoint.checkpoint_id for s in spans if s.checkpoint] == [b"cp%d" % i for i in range(1000)]
    assert [a.removed_bytes for a in report.actions if a.path == "checkpoints.log"] == [len(junk)]
    # one framing per record and per magic (plus the damaged start), every byte CRC'd at most once
    assert scan_work[0] <= len(recs) + magics + 2, scan_work
    assert scan_work[1] <= len(log), scan_work
