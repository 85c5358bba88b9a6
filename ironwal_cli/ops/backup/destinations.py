"""Where backups go: a directory, or an object store (``s3://bucket/prefix``).

A destination is a flat store of keys (``objects/ab/abcd...``, ``generations/G.json``): put a
whole object, get it, list a prefix, delete. Every put is atomic (a directory's goes through
``engine.store.files.atomic_write``: temp, fsync, rename, fsync of the directory; an S3 PUT is
atomic by itself), so a killed backup leaves whole objects or none, never half of one.

S3 goes through boto3, the optional extra ``ironwal-cli[s3]``, imported only when an s3:// URL
is used. The endpoint, credentials and region come from boto3's usual configuration
(``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` for MinIO, Ceph or any S3-compatible server,
``AWS_ACCESS_KEY_ID``, ``~/.aws/config``...). A network error is retried with backoff
(``RETRY_DELAYS``) before it becomes one error line (exit 5).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TypeVar

from ...engine.store.files import TEMP_SUFFIX, atomic_write, fsync_dir, make_dirs, read_file
from ...errors import LockTimeoutError, NotFoundError, StorageError, UsageError

T = TypeVar("T")

S3_EXTRA = "ironwal-cli[s3]"
# Seconds slept before each retry of an operation that failed on the network: ~15 s in all.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


class Listed(NamedTuple):
    key: str
    size: int
    mtime: float  # seconds since the epoch


class Destination:
    """The operations a backup needs. Subclasses name the errors worth retrying (``retriable``)."""

    url: str
    retriable: tuple[type[BaseException], ...] = ()
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    on_retry: Callable[[str], None] | None = None  # told "what failed; retrying in N s"

    def put(self, key: str, data: bytes) -> None:
        self._retry(f"write {self.where(key)}", lambda: self._put(key, data))

    def get(self, key: str) -> bytes | None:
        """The object's bytes, None when there is none."""
        return self._retry(f"read {self.where(key)}", lambda: self._get(key))

    def list(self, prefix: str) -> list[Listed]:
        return self._retry(f"list {self.where(prefix)}", lambda: list(self._list(prefix)))

    def delete(self, key: str) -> None:
        self._retry(f"delete {self.where(key)}", lambda: self._delete(key))

    def where(self, key: str) -> str:
        return f"{self.url.rstrip('/')}/{key}"

    def lock(self):
        """Held while a run writes or deletes (a directory's flock; object stores: one writer, see
        ironwal-backup(1))."""
        from contextlib import nullcontext

        return nullcontext()

    def _retry(self, what: str, op: Callable[[], T]) -> T:
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                return op()
            except self.retriable as err:
                if delay is None:
                    raise StorageError(f"{what}: {err} (gave up after {attempt + 1} attempts)") from None
                if self.on_retry is not None:
                    self.on_retry(f"{what}: {err}; retrying in {delay:g} s")
                time.sleep(delay)
        raise AssertionError("unreachable")

    # --- what a subclass provides -------------------------------------------------------------
    def _put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _list(self, prefix: str) -> Iterator[Listed]:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError


class DirectoryDestination(Destination):
    """Keys are paths under a directory; puts are atomic and durable (``atomic_write``)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.url = os.fspath(path)
        if self.path.exists() and not self.path.is_dir():
            raise StorageError(f"{self.path}: not a directory")

    def _put(self, key: str, data: bytes) -> None:
        target = self.path / key
        if not target.parent.is_dir():
            make_dirs(target.parent)
        atomic_write(target, data)

    def _get(self, key: str) -> bytes | None:
        return read_file(self.path / key)

    def _list(self, prefix: str) -> Iterator[Listed]:
        top = self.path / prefix
        if not top.is_dir():
            return
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                if name.endswith(TEMP_SUFFIX):  # a put cut short by a crash: not an object
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                yield Listed(os.path.relpath(full, self.path).replace(os.sep, "/"), st.st_size, st.st_mtime)

    def _delete(self, key: str) -> None:
        target = self.path / key
        try:
            target.unlink()
        except FileNotFoundError:
            return
        fsync_dir(target.parent)

    def lock(self):
        return _dir_lock(self.path)


@contextmanager
def _dir_lock(path: Path) -> Iterator[None]:
    """An flock on the destination directory: one backup, retention or restore-free writer at a time."""
    from ...engine.store.locks import locked_dir

    make_dirs(path)
    held = locked_dir(path, timeout=0.0)
    try:
        held.__enter__()
    except LockTimeoutError:
        raise LockTimeoutError(f"{path}: another ironwal backup is writing to this destination") from None
    try:
        yield
    finally:
        held.__exit__(None, None, None)


class S3Destination(Destination):
    """``s3://bucket/prefix`` through boto3 (the ``ironwal-cli[s3]`` extra)."""

    def __init__(self, url: str, client=None):
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise UsageError(f"{url}: an S3 destination is s3://BUCKET[/PREFIX]")
        self.url, self.bucket, self.prefix = url, bucket, prefix.strip("/")
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
        except ImportError:
            raise UsageError(f"{url}: S3 destinations need boto3: pip install '{S3_EXTRA}'") from None
        self._client_error = ClientError
        self.retriable = (ConnectionError, HTTPClientError, _Transient)
        self._boto_error = BotoCoreError
        # no retries inside boto3: the backoff and its warnings are ours (RETRY_DELAYS)
        self.client = client or boto3.client("s3", config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                                                 connect_timeout=5, read_timeout=60))

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, op: Callable[[], T]) -> T:
        try:
            return op()
        except self._client_error as err:
            info = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = info.get("Code", "")
            if status >= 500 or code in ("SlowDown", "RequestTimeout", "Throttling"):
                raise _Transient(f"{code or status}: {info.get('Message', '')}") from None
            if code in ("NoSuchKey", "404"):
                raise FileNotFoundError(errno.ENOENT, "no such object") from None
            if code == "NoSuchBucket":
                raise NotFoundError(f"{self.url}: no such bucket {self.bucket!r}") from None
            raise StorageError(f"{self.url}: {code or status}: {info.get('Message', err)}") from None
        except self.retriable:
            raise
        except self._boto_error as err:
            raise StorageError(f"{self.url}: {err}") from None

    def _put(self, key: str, data: bytes) -> None:
        self._call(lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data))

    def _get(self, key: str) -> bytes | None:
        try:
            body = self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"])
        except FileNotFoundError:
            return None
        return self._call(body.read)

    def _list(self, prefix: str) -> Iterator[Listed]:
        base = self._key("")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
        for page in self._call(lambda: list(pages)):
            for obj in page.get("Contents", []):
                yield Listed(obj["Key"][len(base):], obj["Size"], obj["LastModified"].timestamp())

    def _delete(self, key: str) -> None:
        self._call(lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))


class _Transient(Exception):
    """A server's 5xx or throttling answer: retried like a network error."""


def open_destination(dest: str | os.PathLike | Destination) -> Destination:
    """The destination a command line names: ``s3://bucket/prefix``, else a directory path."""
    if isinstance(dest, Destination):
        return dest
    text = os.fspath(dest)
    if text.startswith("s3://"):
        return S3Destination(text)
    if "://" in text:
        raise UsageError(f"{text}: unknown destination scheme (a directory path, or s3://BUCKET/PREFIX)")
    return DirectoryDestination(text)
