"""Benchmark: `polar-metrics refresh --all` of many Polar accounts at Polar's rate limit.

    .venv/bin/python -m benchmarks.many_connections [--connections 1000] [--rate-limit 500]

The emulator (in this process, `--accounts N+1`: every extra account has one to three small
organizations) counts requests per OAuth client across all accounts, as Polar does. N
connections are made through the real OAuth flow (authorize with `login_hint`, token exchange,
organization discovery) by a few threads at once, with the rate limit off while connecting. Then
one connection's refresh token is revoked at the emulator and one organization of another
connection fails every metrics request, the emulator's counters are reset, its limit is set to
`--rate-limit`, and ONE `polar-metrics refresh --all` process runs with the client's budget at
the same limit. Printed: requests (emulator's counters), wall time against the rate-limit bound
(requests / limit per minute), 429 answers, peak memory of the refresh's process tree (PSS of
the process and its children, polled; their summed RSS beside it, which counts the libraries
they share once per process), and the result lines of the broken connections.
"""

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import BIN, TreeMemoryPeaks, cpu_seconds, print_table
from benchmarks.many_accounts import connect_all, control, many_accounts, revoke_refresh_token
from orchestration.cli.progress import DBT_LOG_NAME

PROGRESS_EVERY = 50  # connections
RESULT_LINE = re.compile(r"^account-\d+: (ok|PARTIAL|FAILED), ")
TARGET_RATIO = 1.3
BINDING_WINDOWS = 5
# The emulator runs in this process; the refresh and its workers are waited-for children.
CPU_OF = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)


@dataclass
class ManyConnectionsResult:
    """What one run measured (the short test asserts on it, the benchmark prints it)."""

    connections: int
    organizations: int
    connect_seconds: float
    requests: int
    requests_by_path: dict[str, int]
    rate_limited: int
    rate_limit: int
    run: "RefreshRun"
    broken_connection: str
    failing_connection: str
    failing_organization: str
    emulator_cpu_seconds: float  # this process's CPU during the refresh: the emulator's work
    refresh_cpu_seconds: float  # the refresh process and its children (workers, dbt)
    workers: int | None

    @property
    def bound_seconds(self) -> float:
        """The fastest any client may go: every request at `rate_limit` per minute."""
        return self.requests / self.rate_limit * 60

    @property
    def bound_binds(self) -> bool:
        """Whether the budget, not fixed costs, sets the pace: at least BINDING_WINDOWS minutes
        of requests. Below that the process start, a partly used last minute and the one dbt
        build weigh more than the limit, and the ratio says little."""
        return self.requests >= BINDING_WINDOWS * self.rate_limit

    @property
    def ratio(self) -> float:
        """Wall time over the rate-limit bound (target <= 1.3 where the bound binds)."""
        return self.run.wall_seconds / self.bound_seconds if self.bound_seconds else math.inf

    def line_of(self, connection: str) -> str:
        """The result line `refresh --all` printed for `connection` ('' if none)."""
        return next((line for line in self.run.lines if line.startswith(f"{connection}: ")), "")

    @property
    def healthy_ok(self) -> int:
        """Connections other than the two broken ones whose line says ok."""
        broken = {self.broken_connection, self.failing_connection}
        return sum(
            1
            for line in self.run.lines
            if ": ok, " in line and line.split(": ", 1)[0] not in broken | {"dbt and outputs"}
        )


@dataclass
class RefreshRun:
    """What the `refresh --all` process did, with its raw phase (every connection's line)
    told apart from dbt and the outputs."""

    exit_code: int
    wall_seconds: float
    raw_seconds: float
    peak_pss_mb: dict[str, float]  # per phase: "raw", then "downstream" (common.tree_memory_mb)
    peak_rss_mb: dict[str, float]  # the same phases, RSS summed over the processes
    lines: list[str]

    @property
    def peak_mb(self) -> float:
        """The peak over the whole command (PSS: the memory the tree occupies)."""
        return max(self.peak_pss_mb.values())


def run_refresh_all(
    env: dict[str, str], log: Path, connections: int, workers: int | None
) -> RefreshRun:
    """One `polar-metrics refresh --all` process, its tree's memory polled meanwhile."""
    started = time.perf_counter()
    command = [str(BIN / "polar-metrics"), "refresh", "--all"]
    command += [f"--workers={workers}"] if workers is not None else []
    lines, finished, raw_seconds = [], 0, 0.0
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
        TreeMemoryPeaks(process.pid, "raw") as memory,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            finished += bool(RESULT_LINE.match(line))
            if RESULT_LINE.match(line) and finished % PROGRESS_EVERY == 0:
                print(
                    f"  {finished} connections, {time.perf_counter() - started:.0f} s", flush=True
                )
            if RESULT_LINE.match(line) and finished == connections:
                memory.phase, raw_seconds = "downstream", time.perf_counter() - started
        code = process.wait()
    elapsed = time.perf_counter() - started
    return RefreshRun(code, elapsed, raw_seconds, memory.peaks, memory.rss_peaks, lines)


def measure(
    connections: int, rate_limit: int, state_dir: Path, workers: int | None = None
) -> ManyConnectionsResult:
    """Connect, break one connection and one organization, then time one `refresh --all`."""
    with many_accounts(state_dir, connections, rate_limit) as (emulator, ports):
        started = time.perf_counter()
        organizations = connect_all(emulator, ports, connections)
        connect_seconds = time.perf_counter() - started
        names = list(organizations)
        broken = names[len(names) // 2]
        # One of two or more organizations failing: the connection is partial, not failed.
        failing = next(
            (n for n in names[len(names) // 3 :] if n != broken and len(organizations[n]) > 1),
            names[-1] if names[-1] != broken else names[0],
        )
        revoke_refresh_token(broken)
        failing_org = organizations[failing][0]
        control(emulator, "POST", "faults", {"rate_limit_per_minute": rate_limit})
        control(emulator, "POST", "faults", {"fail_organization": {"organization_id": failing_org}})
        control(emulator, "POST", "stats/reset")
        env = {**os.environ, "POLAR_RATE_LIMIT_PER_MINUTE": str(rate_limit)}
        before = [resource.getrusage(who) for who in CPU_OF]
        run = run_refresh_all(env, state_dir / "refresh-all.log", connections, workers)
        emulator_cpu, refresh_cpu = (
            cpu_seconds(resource.getrusage(who)) - cpu_seconds(then)
            for who, then in zip(CPU_OF, before, strict=True)
        )
        stats = control(emulator, "GET", "stats")
    assert isinstance(stats, dict)
    by_path = {key: int(value) for key, value in stats["requests"].items()}
    return ManyConnectionsResult(
        connections=connections,
        organizations=sum(len(ids) for ids in organizations.values()),
        connect_seconds=connect_seconds,
        requests=sum(by_path.values()),
        requests_by_path=by_path,
        rate_limited=int(stats["rate_limited"]),
        rate_limit=rate_limit,
        run=run,
        broken_connection=broken,
        failing_connection=failing,
        failing_organization=failing_org,
        emulator_cpu_seconds=emulator_cpu,
        refresh_cpu_seconds=refresh_cpu,
        workers=workers,
    )


def downstream_lines(lines: list[str]) -> list[str]:
    """The dbt-and-outputs line and, when it failed, every line after it (dbt's error is
    several lines long: its first line alone lost the reason of a 1,000-connection run)."""
    start = next((i for i, line in enumerate(lines) if line.startswith("dbt and outputs")), None)
    if start is None:
        return [""]
    return lines[start:] if ": FAILED" in lines[start] else [lines[start]]


def keep_failure_logs(state_dir: Path, destination: Path) -> list[Path]:
    """Copy the refresh's output and dbt's log out of the temporary state directory (when dbt
    or a healthy connection failed)."""
    kept = []
    for source in (state_dir / "refresh-all.log", state_dir / "dbt" / DBT_LOG_NAME):
        if source.exists():
            target = destination / f"many_connections-{source.name}"
            shutil.copyfile(source, target)
            kept.append(target)
    return kept


def report(result: ManyConnectionsResult) -> None:
    """Print the measured numbers and the broken connections' lines."""
    rss = result.run.peak_rss_mb
    rows = [
        ["connections / organizations", f"{result.connections} / {result.organizations}", ""],
        ["connecting (real OAuth flow, not timed below)", f"{result.connect_seconds:.0f} s", ""],
        ["API requests of the refresh (emulator's counters)", f"{result.requests:,}", ""],
        ["requests per connection", f"{result.requests / result.connections:.1f}", ""],
        [
            "wall time of `refresh --all` (of it: raw tables of every connection)",
            f"{result.run.wall_seconds:.0f} s ({result.run.raw_seconds:.0f} s)",
            "",
        ],
        [
            f"rate-limit bound (requests / {result.rate_limit} per minute)",
            f"{result.bound_seconds:.0f} s",
            "",
        ],
        [
            "wall / bound",
            f"{result.ratio:.2f}x" + ("" if result.bound_binds else " (the bound does not bind)"),
            f"<= {TARGET_RATIO}x",
        ],
        ["raw phase / bound", f"{result.run.raw_seconds / result.bound_seconds:.2f}x", ""],
        ["429 answers", result.rate_limited, "0"],
        [
            "peak memory (PSS) of the refresh process tree (in the raw phase)",
            f"{result.run.peak_mb:.0f} MB ({result.run.peak_pss_mb['raw']:.0f} MB)",
            "< 1,000 MB",
        ],
        [
            "peak of RSS summed over its processes (in the raw phase)",
            f"{max(rss.values()):.0f} MB ({rss['raw']:.0f} MB)",
            "",
        ],
        ["healthy connections ok", f"{result.healthy_ok} of {result.connections - 2}", "all"],
        ["exit code", result.run.exit_code, "3 (partial)"],
        [
            "CPU seconds per connection: refresh tree / emulator",
            f"{result.refresh_cpu_seconds / result.connections:.1f} / "
            f"{result.emulator_cpu_seconds / result.connections:.1f}",
            "",
        ],
    ]
    print_table(
        f"`refresh --all` of {result.connections} connections at {result.rate_limit} "
        f"requests/minute, workers: {result.workers or 'default'}, dbt's DuckDB memory: "
        f"{os.environ.get('POLAR_METRICS_DBT_MEMORY_LIMIT') or 'the profile default'}",
        ["measure", "value", "target"],
        rows,
    )
    print(f"needs-reauth:  {result.line_of(result.broken_connection)}")
    print(f"failing org:   {result.line_of(result.failing_connection)}")
    print("\n".join(downstream_lines(result.run.lines)))
    top = sorted(result.requests_by_path.items(), key=lambda item: -item[1])[:8]
    print("requests by path: " + ", ".join(f"{path} {count:,}" for path, count in top))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run once at the given size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rate-limit", type=int, default=500, help="requests/minute per client")
    parser.add_argument("--workers", type=int, help="`refresh --all --workers` (default: its own)")
    parser.add_argument("--quick", action="store_true", help="50 connections")
    args = parser.parse_args(argv)
    connections = 50 if args.quick else args.connections
    if connections < 3:
        parser.error("--connections must be at least 3 (one breaks, one has a failing org)")
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(connections, args.rate_limit, Path(tmp), args.workers)
        report(result)
        dbt_failed = ": FAILED" in downstream_lines(result.run.lines)[0]
        # A healthy connection that failed is the run's failure too (a worker lost to a DuckDB
        # FATAL error at 1,000 connections left nothing to read once the directory was gone).
        if dbt_failed or result.healthy_ok < result.connections - 2:
            for kept in keep_failure_logs(Path(tmp), Path.cwd()):
                print(f"kept: {kept}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
