"""Restore at a point: a checkpoint of a sharded root (every shard cut at its offsets), and the
property that every generation restores exactly what the root held when it was taken, for
random appends, prunes and checkpoints between backups, with retention."""

from __future__ import annotations

import json

from backup_support import SMALL, entries, ironwal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.backup import backup_root, list_generations, restore, verify_backup
from ironwal_cli.ops.checkpoint import create_checkpoint, list_checkpoints
from ironwal_cli.ops.prune import prune_stream
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.ops.verify import verify_root


def sharded_root(root, rounds=3):
    for r in range(rounds):
        for k in range(12):
            append_keyed(root, b"user%d" % k, [b"r%d k%d" % (r, k), b""], shards=4, options=SMALL)
        create_checkpoint(root, b"cp-%d" % r, shards=4)


def test_restore_at_a_checkpoint_cuts_every_shard_at_its_offsets(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    sharded_root(root)
    for k in range(5):  # past the last checkpoint
        append_keyed(root, b"late%d" % k, [b"late"], shards=4)
    backup_root(root, dest)
    offsets = {c.display_id: c.offsets for c in list_checkpoints(root)}
    proc = ironwal("restore", dest, tmp_path / "at", "--checkpoint", "cp-1", "--json")
    assert proc.returncode == 0, proc.stderr
    at = entries(tmp_path / "at")
    whole = entries(root)
    for shard, offset in enumerate(offsets["cp-1"]):
        name = f"shard_{shard:02d}"
        assert at.get(name, []) == whole[name][:offset]
    assert verify_root(tmp_path / "at").ok
    kept = [c.display_id for c in list_checkpoints(tmp_path / "at")]
    latest = [c.display_id for c in list_checkpoints(tmp_path / "at") if c.is_latest]
    assert kept == ["cp-0", "cp-1"] and latest == ["cp-1"]
    assert ironwal("restore", dest, tmp_path / "x", "--checkpoint", "nope").returncode == 6
    whole_restore = tmp_path / "whole"
    assert ironwal("restore", dest, whole_restore).returncode == 0
    assert entries(whole_restore) == whole
    assert json.loads(ironwal("backup", "list", dest, "--json").stdout)[0]["checkpoints"] == 3


def test_to_id_on_a_shard_drops_the_checkpoints_past_the_cut(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    sharded_root(root)
    backup_root(root, dest)
    first = list_checkpoints(root)[0]
    shard = next(i for i, off in enumerate(first.offsets) if off > 0)
    proc = ironwal("restore", dest, tmp_path / "cut", "--to-id", f"shard_{shard:02d}={first.offsets[shard] - 1}")
    assert proc.returncode == 0, proc.stderr
    assert [c.display_id for c in list_checkpoints(tmp_path / "cut")] == ["cp-0"]
    assert verify_root(tmp_path / "cut").ok


ops = st.lists(st.one_of(
    st.tuples(st.just("append"), st.sampled_from(["a", "b"]), st.lists(st.binary(max_size=300), min_size=1,
                                                                         max_size=5)),
    st.tuples(st.just("prune"), st.sampled_from(["a", "b"]), st.integers(0, 60)),
    st.tuples(st.just("backup"), st.none(), st.none()),
), min_size=1, max_size=25)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops, st.integers(1, 3))
def test_every_kept_generation_restores_what_the_root_held_at_its_backup(tmp_path_factory, steps, keep):
    base = tmp_path_factory.mktemp("prop")
    root, dest = base / "r", base / "d"
    append_values(root, "a", [b"first"], SMALL)
    held: dict[str, dict] = {}
    for kind, stream, arg in [*steps, ("backup", None, None)]:
        if kind == "append":
            append_values(root, stream, arg, SMALL)
        elif kind == "prune" and (root / stream).is_dir():
            prune_stream(root, stream, arg)
        elif kind == "backup":
            result = backup_root(root, dest, keep=keep, part_size=4096)
            held[result.generation] = entries(root)
    gens = [g.generation for g in list_generations(dest)]
    assert gens == sorted(held)[-keep:]
    assert verify_backup(dest).ok
    for gen in gens:
        out = base / f"out-{gen}"
        restore(dest, out, generation=gen)
        assert entries(out) == held[gen]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 11), st.booleans()), min_size=1, max_size=12))
def test_every_checkpoint_of_a_generation_restores_the_shards_as_they_were(tmp_path_factory, steps):
    base = tmp_path_factory.mktemp("cps")
    root, dest = base / "r", base / "d"
    at: dict[str, dict] = {}
    for n, (key, checkpoint) in enumerate(steps):
        append_keyed(root, b"k%d" % key, [b"v%d" % n, b"w"], shards=3, options=SMALL)
        if checkpoint:
            create_checkpoint(root, b"c%d" % n, shards=3)
            at[f"c{n}"] = entries(root)
    backup_root(root, dest)
    for cp, held in at.items():
        out = base / f"at-{cp}"
        restore(dest, out, checkpoint=cp.encode())
        got = entries(out)
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in held.items() if v}
