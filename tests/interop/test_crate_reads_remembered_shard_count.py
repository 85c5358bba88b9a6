"""The shard count ironwal remembers (``<root>/ironwal-shards``) leaves the crate's layout as it
was: the crate's ShardedWal opens such a root, reads every entry and checkpoint, and appends to
it; ironwal then reads what the crate wrote and verify finds the root clean."""

from __future__ import annotations

import base64

from crate_oracle import dump_sharded, write
from wal_invariants import cli

from ironwal_cli.sharded.routing import route
from ironwal_cli.sharded.shard_count import COUNT_NAME


def test_the_crate_opens_reads_and_appends_to_a_root_with_a_remembered_count(tmp_path):
    root = tmp_path / "r"
    keys = [f"user{i}".encode() for i in range(12)]
    for key in keys:
        assert cli("append", "--shards", "4", "--key", key, key + b"-v", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "ours", "-r", root).returncode == 0
    assert (root / COUNT_NAME).read_bytes() == b"4\n"

    lines = dump_sharded(root, 4)
    assert lines[0]["kind"] == "open" and lines[0]["ok"], lines[0]
    latest = next(line for line in lines if line.get("kind") == "latest")
    assert latest["id"] == "ours" and latest["shard_count"] == 4
    seen = {line["shard"]: [base64.b64decode(e) for e in line["entries"]] for line in lines
            if line.get("kind") == "shard"}
    for shard in range(4):
        assert seen[shard] == [k + b"-v" for k in keys if route(k, 4) == shard]
        assert next(line for line in lines if line.get("kind") == "shard" and line["shard"] == shard)["error"] is None

    write(root, {"shards": 4, "ops": [{"op": "append", "key": "user0", "value": "crate"},
                                      {"op": "create_checkpoint", "id": "theirs"}]})
    r = cli("tail", f"shard_{route(b'user0', 4):02d}", "-n", "1", "-r", root)
    assert r.stdout == b"crate\n"
    assert cli("verify", "-r", root).returncode == 0
    assert cli("append", "--key", "user0", "after", "-r", root).returncode == 0  # the count still remembered


def test_the_crate_reads_a_root_whose_contradicting_checkpoint_records_recover_quarantined(tmp_path):
    import time

    from ironwal_cli.spec.codec import Checkpoint, encode_checkpoint_record

    root = tmp_path / "r"
    assert cli("append", "--shards", "4", "--key", "k", "a", "-r", root).returncode == 0
    assert cli("checkpoint", "create", "c1", "-r", root).returncode == 0
    with open(root / "checkpoints.log", "ab") as f:
        f.write(encode_checkpoint_record(Checkpoint(b"bad", time.time_ns(), (0,) * 65535)))
    before = dump_sharded(root, 4, "--no-entries")
    assert any("Shard count mismatch" in (line.get("error") or "") for line in before)
    assert cli("recover", "-r", root).returncode == 0
    after = dump_sharded(root, 4, "--no-entries")
    assert after[0]["ok"] and not any(line.get("error") for line in after), after
    assert [c["id"] for c in next(line for line in after if line.get("kind") == "checkpoints")["list"]] == ["c1"]
