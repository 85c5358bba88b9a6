"""tests/backup/: ``ironwal backup`` and ``ironwal restore`` against real directories and a real
S3-compatible HTTP server (moto's server mode, started once on 127.0.0.1 for the session)."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of a moto S3 server on a free port of 127.0.0.1; skips (one line) without moto."""
    try:
        import boto3  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as err:
        pytest.skip(f"S3 tests need boto3 and moto[server] (the test extra): {err}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except Exception as err:  # noqa: BLE001 - any reason it cannot start is a skip, said in one line
        pytest.skip(f"moto's S3 server could not start on 127.0.0.1:{port}: {err}")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """boto3's configuration pointed at the test server (for this process and its subprocesses)."""
    env = {"AWS_ENDPOINT_URL_S3": s3_server, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture
def bucket(s3_env, request):
    """A fresh bucket: s3://NAME."""
    import boto3

    name = "t" + format(abs(hash(request.node.nodeid)) % 10**12, "012d") + format(os.getpid(), "x")
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"
