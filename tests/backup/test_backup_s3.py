"""Against a real S3-compatible HTTP server (moto's server mode on 127.0.0.1) with boto3, the
client library ``ironwal-cli[s3]`` installs: the same round trip, incremental run and verify as
a directory, through the real CLI; and the one-line error when boto3 is missing."""

from __future__ import annotations

import json

import pytest
from backup_support import entries, fill, ironwal

from ironwal_cli.errors import FormatError, StorageError
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.backup import backup_root, list_generations, restore, verify_backup
from ironwal_cli.ops.verify import verify_root


def test_s3_round_trip_incremental_verify_and_retention_through_the_cli(tmp_path, bucket):
    root, url = tmp_path / "r", f"{bucket}/backups/prod"
    fill(root, "s", batches=30)
    full = backup_root(root, url, part_size=4096).to_dict()
    append_values(root, "s", [b"after"])
    second = json.loads(ironwal("backup", url, "-r", root, "--json", "--part-size", "4k", "--keep", "1").stdout)
    assert second["sent_objects"] == 1 and second["sent_bytes"] <= 4096 + 100 < full["sent_bytes"]
    assert second["retention"]["deleted_generations"] == [full["generation"]]
    assert [g.generation for g in list_generations(url)] == [second["generation"]]
    assert verify_backup(url).ok
    out = tmp_path / "out"
    assert ironwal("restore", url, out).returncode == 0
    assert entries(out) == entries(root) and verify_root(out).ok


def test_s3_damaged_object_is_found_by_verify(tmp_path, bucket):
    import boto3

    root, url = tmp_path / "r", f"{bucket}/p"
    fill(root, "s", batches=10)
    backup_root(root, url)
    client = boto3.client("s3")
    name = bucket[len("s3://"):]
    key = next(o["Key"] for o in client.list_objects_v2(Bucket=name, Prefix="p/objects/")["Contents"])
    client.put_object(Bucket=name, Key=key, Body=b"not the bytes")
    report = verify_backup(url)
    assert not report.ok and report.problems[0].kind == "bad_object"
    check = ironwal("backup", "verify", url)
    assert check.returncode == 1 and b"bad_object" in check.stdout
    with pytest.raises(FormatError, match="object damaged"):
        restore(url, tmp_path / "out2")


def test_without_boto3_an_s3_url_is_one_line_naming_the_extra_exit_2(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "boto3.py").write_text("raise ImportError('No module named boto3')\n")
    root = tmp_path / "r"
    fill(root, "s", batches=1)
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])}
    proc = ironwal("backup", "s3://bucket/x", "-r", root, env=env)
    assert proc.returncode == 2
    assert proc.stderr.count(b"\n") == 1 and b"pip install 'ironwal-cli[s3]'" in proc.stderr


def test_a_missing_bucket_is_not_found_6_and_a_missing_root_too(tmp_path, s3_env):
    root = tmp_path / "r"
    fill(root, "s", batches=1)
    proc = ironwal("backup", "s3://no-such-bucket-here/x", "-r", root)
    assert proc.returncode == 6 and proc.stderr.count(b"\n") == 1 and b"no such bucket" in proc.stderr
    proc = ironwal("backup", "s3://no-such-bucket-here/x", "-r", tmp_path / "missing")
    assert proc.returncode == 6 and b"no such WAL root" in proc.stderr


def test_a_refused_connection_is_retried_then_one_error_exit_5(tmp_path, monkeypatch):
    import socket

    pytest.importorskip("boto3")
    from ironwal_cli.ops.backup import S3Destination

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for key, value in {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "x",
                       "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "r"
    fill(root, "s", batches=1)
    dest = S3Destination("s3://bucket/p")
    dest.retry_delays = (0.01, 0.01)
    told = []
    with pytest.raises(StorageError, match="gave up after 3 attempts"):
        backup_root(root, dest, on_retry=told.append)
    assert len(told) == 2 and "retrying in" in told[0]
