"""Benchmark: `make demo` on a fresh clone (virtualenv included), then a second `make demo`.

    .venv/bin/python -m benchmarks.demo_clone [--before REF]

What a new user waits for: the clone's committed HEAD (or REF too, for a before/after in the same
run) in a temporary directory, `make demo` creating `.tools` and `.venv` from uv's cache (the
machine's package cache is warm, as after any earlier install), then `make demo` once more.
"""

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from benchmarks.common import REPO, print_table, timed_process


def clean_env() -> dict[str, str]:
    """The environment without any setting of this checkout (no POLAR_*, no virtualenv)."""
    drop = ("POLAR_", "DAGSTER_HOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def clone(ref: str, target: Path) -> str:
    """Clone this repository at `ref` into `target`; the short commit."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", commit], check=True)
    return commit


def demo_times(ref: str, work: Path) -> tuple[str, float, float]:
    """(commit, first `make demo` seconds incl. venv, second `make demo` seconds)."""
    checkout = work / ref.replace("/", "_")
    commit = clone(ref, checkout)
    first, _ = timed_process(["make", "demo"], clean_env(), cwd=checkout)
    second, _ = timed_process(["make", "demo"], clean_env(), cwd=checkout)
    return commit, first, second


def main(argv: list[str] | None = None) -> int:
    """Fresh-clone and second `make demo` for HEAD (and REF); one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="also measure this ref (e.g. main), first")
    parser.add_argument("--quick", action="store_true", help="(same as without; one run)")
    args = parser.parse_args(argv)
    refs = [args.before, "HEAD"] if args.before else ["HEAD"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ref in refs:
            commit, first, second = demo_times(ref, Path(tmp))
            rows.append((f"{ref} ({commit})", f"{first:.1f}", f"{second:.1f}"))
    print_table(
        "`make demo` on a fresh clone (virtualenv created from uv's cache) and a second run",
        ["checkout", "fresh clone, s", "second run, s"],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
