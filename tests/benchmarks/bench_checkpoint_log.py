"""Benchmark: ``recover -n`` and ``verify`` of a sharded root whose checkpoints.log holds N valid
records (issue 17 item 10: recover's scan of the log was quadratic, 49 s for 100,000 records).

Not collected by pytest. Run:  python tests/benchmarks/bench_checkpoint_log.py [--records 100000]
Both commands run as real processes; the ratio recover/verify is the figure to compare.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.spec.codec import Checkpoint, encode_checkpoint_record, encode_head


def build(root: Path, records: int) -> None:
    append_keyed(root, b"k", [b"v"], shards=2)
    log = b"".join(encode_checkpoint_record(Checkpoint(b"cp%d" % i, i, (0, 0))) for i in range(records))
    (root / "checkpoints.log").write_bytes(log)
    (root / "HEAD").write_bytes(encode_head(b"cp%d" % (records - 1)))


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ironwal_cli", *args], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "wal"
        build(root, args.records)
        verify = timed("verify", "-r", str(root))
        recover = timed("recover", "-n", "-r", str(root))
        print(f"{args.records} records: verify {verify:.2f} s, recover -n {recover:.2f} s "
              f"(ratio {recover / verify:.2f})")


if __name__ == "__main__":
    main()
