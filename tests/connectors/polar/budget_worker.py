"""A process drawing on a SharedRequestBudget: `python -m tests.connectors.polar.budget_worker
PATH CONNECTION THREADS REQUESTS CAPACITY WINDOW START OUT` waits until wall time START, then
acquires REQUESTS times in each of THREADS threads and writes one grant time per line to OUT."""

import sys
import threading
import time
from pathlib import Path

from connectors.polar.shared_budget import SharedRequestBudget


def main(argv: list[str]) -> None:
    path, connection, threads, requests, capacity, window, start, out = argv
    budget = SharedRequestBudget(
        Path(path), "app", connection, int(capacity), headroom=1.0, window_seconds=float(window)
    )
    grants: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(int(requests)):
            budget.acquire()
            with lock:
                grants.append(time.time())

    time.sleep(max(0.0, float(start) - time.time()))
    workers = [threading.Thread(target=work) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    Path(out).write_text("".join(f"{grant!r}\n" for grant in sorted(grants)))


if __name__ == "__main__":
    main(sys.argv[1:])
