"""Benchmark: peak memory of a refresh of 250, 500 and 1,000 organizations (target < 500 MB).

    .venv/bin/python -m benchmarks.refresh_memory [--orgs 250 500 1000] [--quick]

The emulator runs in its own process (`polar-metrics emulator`, rate limit off), so its memory
is not counted. A separate worker process connects through OAuth and runs the refresh (organization
discovery + the 90-day metrics window of every organization + `all`, written to DuckDB); it
reports its peak resident memory (VmHWM) before and after the refresh. Linear growth shows as a
constant MB per organization.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import BIN, print_table
from connectors.polar.config import DEFAULT_CONCURRENCY

BANNER = {
    "base_url": re.compile(r"listening on (\S+)"),
    "client_id": re.compile(r"client id:\s+(\S+)"),
    "client_secret": re.compile(r"client secret:\s+(\S+)"),
}


def peak_rss_mb(pid: str = "self") -> float:
    """VmHWM (peak resident set) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kilobytes = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return kilobytes / 1024


@contextmanager
def emulator_process(
    orgs: int, redirect_port: int, latency_ms: int = 0
) -> Iterator[tuple[dict[str, str], int]]:
    """A `polar-metrics emulator` subprocess; (its base URL and demo client, its pid)."""
    process = subprocess.Popen(
        [
            str(BIN / "polar-metrics"),
            "emulator",
            "--scenario=many",
            f"--orgs={orgs}",
            "--auto-approve",
            "--rate-limit=0",
            "--port=0",
            f"--latency-ms={latency_ms}",
            f"--redirect-uri=http://127.0.0.1:{redirect_port}/callback",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    found: dict[str, str] = {}
    try:
        assert process.stdout is not None
        while len(found) < len(BANNER):
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the emulator exited before printing its banner")
            for key, pattern in BANNER.items():
                match = pattern.search(line)
                if match and key not in found:
                    found[key] = match.group(1)
        yield found, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def worker(args: argparse.Namespace) -> int:
    """In the measured process: connect, refresh, print peak memory as JSON."""
    import os

    from benchmarks.common import refresh_raw
    from connectors.polar.config import PolarSettings
    from orchestration.cli.headless import connect_headless, emulator_environment

    state = Path(args.state)
    os.environ.update(
        emulator_environment(args.base_url, args.client_id, args.client_secret, state)
    )
    os.environ["POLAR_RATE_LIMIT_PER_MINUTE"] = "0"
    settings = PolarSettings.from_env()
    connect_headless(settings, "default", args.port)
    before = peak_rss_mb()
    started = time.perf_counter()
    refresh_raw(settings)
    seconds = time.perf_counter() - started
    result = {"before_mb": before, "peak_mb": peak_rss_mb(), "seconds": seconds}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def measure(orgs: int) -> dict[str, float]:
    """Peak memory of one refresh of `orgs` organizations (and of the emulator, for scale)."""
    from orchestration.cli.headless import reserved_loopback_port

    with (
        reserved_loopback_port() as port,
        tempfile.TemporaryDirectory() as tmp,
        emulator_process(orgs, port) as (found, pid),
    ):
        result = subprocess.run(
            [
                str(BIN / "python"),
                "-m",
                "benchmarks.refresh_memory",
                "--worker",
                f"--port={port}",
                f"--state={tmp}",
                f"--base-url={found['base_url']}",
                f"--client-id={found['client_id']}",
                f"--client-secret={found['client_secret']}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"worker failed:\n{result.stderr[-3000:]}")
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        measured["emulator_mb"] = peak_rss_mb(str(pid))
        measured["warehouse_mb"] = (Path(tmp) / "warehouse.duckdb").stat().st_size / 1e6
    return measured


def main(argv: list[str] | None = None) -> int:
    """Measure each size (or act as the worker) and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--quick", action="store_true", help="50, 100 and 200 organizations")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--port", "--state", "--base-url", "--client-id", "--client-secret"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.port = int(args.port)
        return worker(args)
    sizes = [50, 100, 200] if args.quick else args.orgs
    rows = []
    previous: tuple[int, float] | None = None
    for orgs in sizes:
        m = measure(orgs)
        slope = (
            f"{(m['peak_mb'] - previous[1]) / (orgs - previous[0]) * 1000:.0f} KB/org"
            if previous
            else "-"
        )
        previous = (orgs, m["peak_mb"])
        rows.append(
            [
                orgs,
                f"{m['seconds']:.1f}",
                f"{m['before_mb']:.0f}",
                f"{m['peak_mb']:.0f}",
                f"{m['peak_mb'] - m['before_mb']:.0f}",
                slope,
                f"{m['warehouse_mb']:.0f}",
                f"{m['emulator_mb']:.0f}",
            ]
        )
    print_table(
        f"Peak memory of the refresh process (90-day window, concurrency {DEFAULT_CONCURRENCY}, "
        "rate limit off; "
        "target < 500 MB)",
        [
            "orgs",
            "refresh s",
            "RSS before MB",
            "peak RSS MB",
            "growth MB",
            "marginal",
            "warehouse MB",
            "emulator MB (separate)",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
