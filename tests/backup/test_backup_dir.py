"""``ironwal backup``/``restore`` against a real directory destination: round trips, incremental
runs, torn tails, damage, verify of the destination, cuts, refusals, retry."""

from __future__ import annotations

import json
import os

import pytest
from backup_support import SMALL, entries, fill, ironwal

from ironwal_cli.engine.store.names import segment_name
from ironwal_cli.errors import NotFoundError, RefusedError, StorageError, UsageError
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.backup import (
    DirectoryDestination,
    backup_root,
    list_generations,
    parse_to_ids,
    restore,
    verify_backup,
)
from ironwal_cli.ops.verify import verify_root

PART = 4096


def test_round_trip_of_binary_empty_and_newline_entries_over_many_segments(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=30)
    append_values(root, "t", [b"", b"\n", b"\x00\xff" * 100])
    assert len(list((root / "s").glob("*.wal"))) >= 3
    result = backup_root(root, dest, part_size=PART)
    assert result.streams == {"s": [0, 120], "t": [0, 3]}
    restore(dest, tmp_path / "out")
    assert entries(tmp_path / "out") == entries(root)
    assert verify_root(tmp_path / "out").ok
    assert verify_backup(dest).ok


def test_a_second_run_after_a_few_appends_sends_only_the_new_bytes(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=60)
    first = backup_root(root, dest, part_size=PART)
    assert first.sent_bytes == first.bytes and first.reused_bytes == 0
    size_before = first.bytes
    append_values(root, "s", [b"new-1", b"new-2"], SMALL)
    second = backup_root(root, dest, part_size=PART)
    appended = second.bytes - size_before
    assert 0 < appended < 200
    # the new frame, plus at most the last (partial) piece of the active segment read again
    assert second.sent_bytes <= appended + PART and second.sent_objects <= 1
    assert second.read_bytes <= appended + PART
    assert second.reused_bytes >= size_before - PART
    third = backup_root(root, dest, part_size=PART)  # nothing changed: nothing read, nothing sent
    assert (third.sent_bytes, third.sent_objects, third.read_bytes) == (0, 0, 0)
    for gen in list_generations(dest):
        out = tmp_path / gen.generation
        restore(dest, out, generation=gen.generation)
        assert [i for i, _ in entries(out)["s"]][-1] == gen.streams["s"][1] - 1


def test_checksum_rereads_everything_but_sends_nothing_stored(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=20)
    first = backup_root(root, dest, part_size=PART)
    again = backup_root(root, dest, part_size=PART, checksum=True)
    assert again.read_bytes == first.bytes and again.sent_bytes == 0


def test_a_torn_tail_is_left_out_and_the_restore_verifies_clean(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=5)
    before = entries(root)
    seg = sorted((root / "s").glob("*.wal"))[-1]
    whole = seg.read_bytes()
    with open(seg, "ab") as f:  # a frame being written: its header and half its payload
        f.write(whole[:40])
    result = backup_root(root, dest, part_size=PART)
    assert result.bytes == sum(p.stat().st_size for p in (root / "s").glob("*.wal")) - 40
    restore(dest, tmp_path / "out")
    assert verify_root(tmp_path / "out").ok
    assert entries(tmp_path / "out") == before


def test_damage_before_the_tail_is_refused_3_and_lists_no_generation(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=20)
    seg = sorted((root / "s").glob("*.wal"))[0]
    data = bytearray(seg.read_bytes())
    data[40] ^= 0xFF
    seg.write_bytes(bytes(data))
    proc = ironwal("backup", dest, "-r", root)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count(b"\n") == 1 and seg.name.encode() in proc.stderr and b"offset 0" in proc.stderr
    assert list_generations(dest) == []


def test_backup_verify_finds_a_damaged_a_missing_object_and_a_damaged_manifest(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=20)
    backup_root(root, dest, part_size=PART)
    assert ironwal("backup", "verify", dest).returncode == 0
    objects = sorted((dest / "objects").rglob("*"))
    objects = [p for p in objects if p.is_file()]
    damaged = objects[0]
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 1
    damaged.write_bytes(bytes(raw))
    objects[1].unlink()
    proc = ironwal("backup", "verify", dest, "--json")
    assert proc.returncode == 1
    kinds = {p["kind"] for p in json.loads(proc.stdout)["problems"]}
    assert {"bad_object", "missing_object"} <= kinds
    manifest = next((dest / "generations").glob("*.json"))
    manifest.write_bytes(manifest.read_bytes().replace(b'"next_id": 80', b'"next_id": 81'))
    report = verify_backup(dest)
    assert "bad_manifest" in {p.kind for p in report.problems}
    with pytest.raises(NotFoundError):  # no whole generation left to restore
        restore(dest, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_frame_damaged_inside_a_stored_object_with_its_sha256_fixed_is_found_by_the_crc(tmp_path):
    """Bytes replaced together with the object's name and the manifest's record: the frame walk
    (every CRC) still finds it, without a restore."""
    from ironwal_cli.ops.backup.generations import encode_manifest, object_key, sha256

    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=3)
    backup_root(root, dest, part_size=PART)
    key = next((dest / "generations").glob("*.json"))
    outer = json.loads(key.read_bytes())
    seg = outer["manifest"]["streams"][0]["segments"][0]
    data = bytearray((dest / object_key(seg["parts"][0][0])).read_bytes())
    data[50] ^= 0x40
    digest = sha256(bytes(data))
    (dest / object_key(digest)).parent.mkdir(parents=True, exist_ok=True)
    (dest / object_key(digest)).write_bytes(bytes(data))
    seg["parts"][0][0] = digest
    key.write_bytes(encode_manifest(outer["manifest"]))
    report = verify_backup(dest)
    assert [p.kind for p in report.problems] == ["bad_crc"], report.problems


def test_restore_refuses_a_non_empty_root_7_and_force_moves_it_aside(tmp_path):
    root, dest, out = tmp_path / "r", tmp_path / "d", tmp_path / "out"
    fill(root, "s", batches=4)
    backup_root(root, dest)
    out.mkdir()
    (out / "keep-me").write_bytes(b"mine")
    proc = ironwal("restore", dest, out)
    assert proc.returncode == 7 and b"not empty" in proc.stderr and (out / "keep-me").exists()
    proc = ironwal("restore", dest, out, "--force", "--json")
    assert proc.returncode == 0, proc.stderr
    aside = json.loads(proc.stdout)["moved_aside"]
    assert (tmp_path / os.path.basename(aside) / "keep-me").read_bytes() == b"mine"
    assert entries(out) == entries(root)


def test_restore_to_an_id_cuts_at_a_batch_end_and_refuses_inside_a_batch(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=30)  # batches of 4 entries
    backup_root(root, dest, part_size=PART)
    proc = ironwal("restore", dest, tmp_path / "a", "--to-id", "s=41")
    assert proc.returncode == 2 and b"inside the batch of ids 40..43" in proc.stderr
    assert not (tmp_path / "a").exists()
    assert ironwal("restore", dest, tmp_path / "a", "--to-id", "s=43").returncode == 0
    assert entries(tmp_path / "a")["s"] == entries(root)["s"][:44]
    assert verify_root(tmp_path / "a").ok
    with pytest.raises(NotFoundError, match="holds ids up to 119, not 500"):
        restore(dest, tmp_path / "b", to_ids={"s": 500})
    with pytest.raises(UsageError, match="STREAM=ID"):
        parse_to_ids(["s"])


def test_a_destination_of_other_files_is_refused_and_one_inside_the_root_too(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=2)
    dest.mkdir()
    (dest / "photo.jpg").write_bytes(b"x")
    with pytest.raises(RefusedError):
        backup_root(root, dest)
    with pytest.raises(UsageError):
        backup_root(root, root / "s" / "backup")
    assert ironwal("backup", "list", tmp_path / "nothing").returncode == 6
    assert ironwal("restore", tmp_path / "nothing", tmp_path / "o").returncode == 6


class Flaky(DirectoryDestination):
    """A directory whose first puts fail as a dropped connection would."""

    retriable = (ConnectionError,)
    retry_delays = (0.0, 0.01, 0.01)

    def __init__(self, path, failures: int):
        super().__init__(path)
        self.failures = failures

    def _put(self, key, data):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset by peer")
        super()._put(key, data)


def test_network_errors_are_retried_with_backoff_and_never_half_describe_a_generation(tmp_path):
    root = tmp_path / "r"
    fill(root, "s", batches=10)
    told = []
    result = backup_root(root, Flaky(tmp_path / "d", failures=3), on_retry=told.append)
    assert len(told) == 3 and "retrying" in told[0]
    assert verify_backup(tmp_path / "d").ok and result.generation
    with pytest.raises(StorageError, match="gave up after 4 attempts"):
        backup_root(root, Flaky(tmp_path / "e", failures=100))
    assert not (tmp_path / "e" / "generations").exists() or not list((tmp_path / "e" / "generations").iterdir())


def test_retention_keeps_n_generations_and_only_objects_they_need(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    for i in range(4):
        fill(root, f"s{i}", batches=3, seed=i)
        append_values(root, "s0", [b"more %d" % i])  # the active segment changes: its old piece is left behind
        result = backup_root(root, dest, keep=2, part_size=PART)
    gens = list_generations(dest)
    assert [g.generation for g in gens][-1] == result.generation and len(gens) == 2
    assert len(result.retention.deleted_generations) == 1 and result.retention.deleted_objects > 0
    from ironwal_cli.ops.backup.generations import load_generations

    needed = set().union(*(g.referenced() for g in load_generations(DirectoryDestination(dest))))
    stored = {p.name for p in (dest / "objects").rglob("*") if p.is_file()}
    assert stored == needed
    assert verify_backup(dest).ok
    restore(dest, tmp_path / "out", generation=gens[0].generation)
    assert set(entries(tmp_path / "out")) == {"s0", "s1", "s2"} and len(entries(tmp_path / "out")["s0"]) == 15


def test_cli_list_shows_each_generation_with_ids_and_bytes(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=2)
    assert ironwal("-r", root, "backup", dest, "-q").returncode == 0
    append_values(root, "s", [b"x"])
    proc = ironwal("backup", "push", dest, "-r", root, "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    listed = ironwal("backup", "list", dest)
    lines = listed.stdout.decode().splitlines()
    assert lines[0].split("\t") == ["generation", "created", "bytes", "sent", "checkpoints", "ids"]
    assert lines[2].split("\t")[0] == run["generation"] and lines[2].endswith("s=0..8")


def test_an_empty_stream_and_a_pruned_stream_restore(tmp_path):
    from ironwal_cli.ops.prune import prune_stream

    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=30)
    prune_stream(root, "s", 80)
    (root / "e").mkdir()
    from ironwal_cli.engine.writer.writer import StreamWriter

    StreamWriter(root, "e").close()
    assert (root / "s" / segment_name(0)).exists() is False
    backup_root(root, dest)
    restore(dest, tmp_path / "out")
    assert entries(tmp_path / "out") == entries(root)
    assert verify_root(tmp_path / "out").ok


def test_watch_goes_on_after_a_run_the_network_failed(tmp_path):
    import threading

    from ironwal_cli.ops.backup import watch

    root = tmp_path / "r"
    fill(root, "s", batches=3)
    dest = Flaky(tmp_path / "d", failures=4)  # the first run's first put fails 4 times in a row
    dest.retry_delays = (0.0,)  # 2 attempts per request
    stop, errors, results = threading.Event(), [], []

    def done(result):
        results.append(result)
        stop.set()

    runs = watch(root, dest, 0.01, stop=stop, on_result=done, on_error=errors.append)
    assert runs == 1 and len(errors) == 2 and "trying again" in errors[0]
    assert verify_backup(tmp_path / "d").ok and len(list_generations(tmp_path / "d")) == 1


def test_a_backup_takes_no_lock_a_writer_holding_its_lock_never_waits_for_it(tmp_path):
    from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions

    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=5)
    with StreamWriter(root, "s", WriteOptions(hold_lock=True, sync="async")) as writer:
        writer.append(b"held")  # the stream's flock is held from here to the end of the block
        result = backup_root(root, dest)
        writer.append(b"after")
    assert result.streams["s"] == [0, 21]


@pytest.mark.parametrize("command", ["push", "verify", "restore"])
def test_progress_goes_to_stderr_only_and_changes_no_output(tmp_path, command):
    root, dest = tmp_path / "r", tmp_path / "d"
    fill(root, "s", batches=30)
    backup_root(root, dest)
    runs = {}
    for flag in ("--progress", "--no-progress"):
        if command == "push":
            args = ["backup", dest, "-r", root, "--json"]
        elif command == "verify":
            args = ["backup", "verify", dest]
        else:
            args = ["restore", dest, tmp_path / f"out{flag}", "--json"]
        runs[flag] = ironwal(*args, flag)
        assert runs[flag].returncode == 0, runs[flag].stderr
    shown, quiet = runs["--progress"], runs["--no-progress"]
    assert quiet.stderr == b"" and b"\x1b[" in shown.stderr  # the bar: control codes on stderr alone
    if command == "verify":
        assert shown.stdout == quiet.stdout
    else:
        assert json.loads(shown.stdout).keys() == json.loads(quiet.stdout).keys()
