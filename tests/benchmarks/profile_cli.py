"""Profile one ironwal command in-process by CPU time (not wall time: a busy machine skews that).

    python tests/benchmarks/profile_cli.py [--top N] [--stdin FILE] -- tail s --from 0 --format raw -r ROOT

Prints the command's stderr and the top functions by own CPU time to stderr; its stdout goes
to /dev/null. This is how the README's profile figures were taken.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--stdin", help="file to feed on stdin")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumtime)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    ns = p.parse_args()
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    if ns.stdin:
        fd = os.open(ns.stdin, os.O_RDONLY)
        os.dup2(fd, 0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)
    sys.argv = ["ironwal", *args]
    prof = cProfile.Profile(time.process_time)
    t0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    try:
        from ironwal_cli.cli.launcher import main as ironwal_main  # what the console script runs

        ironwal_main()
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    finally:
        prof.disable()
        sys.stdout.flush()
        os.dup2(saved, 1)
    print(f"exit {code}; wall {time.perf_counter() - t0:.3f} s, CPU {time.process_time() - c0:.3f} s",
          file=sys.stderr)
    pstats.Stats(prof, stream=sys.stderr).sort_stats(ns.sort).print_stats(ns.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
