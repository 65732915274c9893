"""Benchmark: `make test` on a fresh clone, virtualenv included, as CI runs it (CI=true).

    .venv/bin/python -m benchmarks.test_suite [--before REF]

The clone's committed HEAD (and REF first, for a before/after in the same run) in a temporary
directory; `make test` creates `.tools` and `.venv` from uv's cache, lints, and runs every test
but the long forms on parallel workers. Target: under 5 minutes on 2 cores. Wall time depends on
what else the machine runs: compare the two rows of one run, and read the load average printed.
"""

import argparse
import os
import re
import tempfile
from pathlib import Path

from benchmarks.common import print_table, timed_process
from benchmarks.demo_clone import clean_env, clone

PASSED = re.compile(r"(\d+) passed")


def suite_time(ref: str, work: Path) -> tuple[str, float, str, float]:
    """(commit, `make test` seconds, tests passed, load average at the end)."""
    checkout = work / ref.replace("/", "_")
    commit = clone(ref, checkout)
    seconds, result = timed_process(["make", "test"], {**clean_env(), "CI": "true"}, checkout)
    passed = PASSED.findall(result.stdout)
    return commit, seconds, passed[-1] if passed else "?", os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    """`make test` on a fresh clone of HEAD (and REF); one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="also measure this ref (e.g. main), first")
    parser.add_argument("--quick", action="store_true", help="(same as without; one run)")
    args = parser.parse_args(argv)
    refs = [args.before, "HEAD"] if args.before else ["HEAD"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ref in refs:
            commit, seconds, passed, load = suite_time(ref, Path(tmp))
            minutes, rest = divmod(round(seconds), 60)
            rows.append((f"{ref} ({commit})", f"{minutes} min {rest:02d} s", passed, f"{load:.1f}"))
    print_table(
        "`make test` on a fresh clone (virtualenv from uv's cache, CI=true), target < 5 min",
        ["checkout", "wall time", "tests passed", "load average at the end"],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
