"""Run a real ``ironwal append`` fed through a pipe, collect the ids it acknowledges, and kill it.

Kills come either from the test (SIGKILL after a random number of acknowledgements, or a few
milliseconds after one, to land in the middle of a write) or from the process itself at a
chosen point (``IRONWAL_TEST_CRASH_AT``, see ironwal_cli/engine/seams.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from wal_checks import check_seals
from wal_invariants import CLI, check_stream, cli, read_until_damage

from ironwal_cli.engine.store.names import sanitize_key


@dataclass
class Run:
    acked: list[int]
    returncode: int
    stderr: bytes


def random_entries(rng: random.Random, n: int, tag: str) -> list[bytes]:
    """Line-mode entries (no newline inside): mixed sizes, some empty, some non-UTF-8."""
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.05:
            out.append(b"")
        elif kind < 0.15:
            out.append(bytes(rng.choice(b"\x00\xff\xfe\x80 xyz\r") for _ in range(rng.randrange(1, 40))))
        else:
            body = f"{tag}-{i}-".encode() + b"x" * rng.randrange(0, 300)
            out.append(body)
    return out


def run_append(root: Path, key: str, entries: list[bytes], *, sync: str, batch: int, max_segment: str,
               crash_at: str | None = None, kill_after_acks: int | None = None,
               kill_delay: float = 0.0, extra: tuple[str, ...] = ()) -> Run:
    """Feed ``entries`` (one per line) to ``ironwal append`` and kill it as asked.

    With ``crash_at`` the input is closed and the process is expected to kill itself; otherwise
    it is SIGKILLed ``kill_delay`` seconds after the ``kill_after_acks``-th acknowledged id.
    """
    env = dict(os.environ)
    env.pop("IRONWAL_TEST_CRASH_AT", None)
    if crash_at:
        env["IRONWAL_TEST_CRASH_AT"] = crash_at
    args = [*CLI, "append", key, "-r", os.fspath(root), "--sync", sync, "--batch", str(batch), "--linger", "0",
            "--max-segment-size", max_segment, *extra]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    data = b"".join(e + b"\n" for e in entries)

    def feed():
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
            if crash_at or kill_after_acks is None:
                proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    acked: list[int] = []
    killed = False
    if kill_after_acks == 0:  # before any acknowledgement: at start-up, stream creation, first write
        time.sleep(kill_delay)
        proc.send_signal(signal.SIGKILL)
        killed = True
    for line in proc.stdout:
        if not line.endswith(b"\n"):
            break  # a partial line is no acknowledgement
        acked.append(int(line))
        if kill_after_acks is not None and not killed and len(acked) >= kill_after_acks:
            if kill_delay:
                time.sleep(kill_delay)
            proc.send_signal(signal.SIGKILL)
            killed = True  # keep reading: ids printed before the kill are still promises
    if kill_after_acks is not None and not killed:
        proc.send_signal(signal.SIGKILL)  # it ran out of input before the chosen moment
    rc = proc.wait(timeout=60)
    feeder.join(timeout=10)
    stderr = proc.stderr.read()
    for f in (proc.stdin, proc.stdout, proc.stderr):
        try:
            f.close()
        except (BrokenPipeError, OSError):
            pass
    return Run(acked, rc, stderr)


@dataclass
class KillCampaign:
    """Kill after kill on one stream: each run continues what the last one left."""

    root: Path
    sync: str
    seed: int
    max_segment: str = "4k"
    kills: int = 0
    entries_checked: int = 0
    recovered: int = 0
    appender_repairs: int = 0
    seals_checked: int = 0  # seals recover would trust, each checked against its segment after a kill
    key: str = "s"
    _sent: list[bytes] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed)

    def one(self, *, crash_at: str | None = None) -> None:
        rng = self.rng
        if len(self._sent) > 2500:  # every check re-reads the whole stream: keep each one short
            self.key, self._sent = f"{self.key}+", []
        new = random_entries(rng, rng.randrange(200 if crash_at else 20, 400), f"{self.key}.{self.kills}")
        batch = rng.choice([1, 3, 10, 50])
        lz4 = rng.random() < 0.3 and not (crash_at or "").startswith(("rotate", "atomic"))  # rotations need volume
        extra = ("--compress", "--min-compress-size", "64") if lz4 else ()  # LZ4 frames too
        if rng.random() < 0.3:
            extra += ("--hold-lock",)  # killed while it keeps the lock: death must let it go
        if crash_at:
            run = run_append(self.root, self.key, new, sync=self.sync, batch=batch, max_segment=self.max_segment,
                             crash_at=crash_at, extra=extra)
            assert run.returncode == -signal.SIGKILL, (crash_at, run.returncode, run.stderr)
        else:
            run = run_append(self.root, self.key, new, sync=self.sync, batch=batch, max_segment=self.max_segment,
                             kill_after_acks=(acks := rng.choice([0, rng.randrange(1, len(new))])),
                             kill_delay=rng.uniform(0.1, 0.4) if acks == 0 else rng.choice([0, 0, 0.001, 0.003]),
                             extra=extra)
            assert run.returncode in (0, -signal.SIGKILL), (run.returncode, run.stderr)
        self.kills += run.returncode == -signal.SIGKILL
        base = len(self._sent)
        assert run.acked == list(range(base, base + len(run.acked))), f"acknowledged ids {run.acked[:5]}... " \
                                                                        f"do not continue at {base}"
        sent = self._sent + new
        entries = check_stream(self.root, self.key, sent, base + len(run.acked))
        self.entries_checked += len(entries)
        if (self.root / sanitize_key(self.key)).is_dir():  # a seal never vouches for unsynced data
            self.seals_checked += check_seals(self.root / sanitize_key(self.key))
        self._after(entries)

    def _after(self, entries: list[bytes]) -> None:
        """Repair a damaged tail, by turns with ``ironwal recover`` (then ``verify`` must be clean)
        and by leaving it to the next ``append``, which must cut a torn final frame itself."""
        _, damage = read_until_damage(self.root, self.key)
        self._sent = list(entries)
        if damage is None:
            return
        if self.rng.random() < 0.5:
            self.appender_repairs += 1
            return
        result = cli("recover", "-r", self.root)
        assert result.returncode == 0, result.stderr
        self.recovered += 1
        again, damage = read_until_damage(self.root, self.key)
        assert damage is None and again == entries, "recover lost or kept damage"
        self.seals_checked += check_seals(self.root / sanitize_key(self.key))  # and what recover sealed
        result = cli("verify", "-r", self.root)
        assert result.returncode == 0, result.stdout + result.stderr
