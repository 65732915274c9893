"""The shared request budget, driven by a fake clock."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors.polar.rate_budget import RequestBudget


class FakeClock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def budget(per_minute: int | None, clock: FakeClock) -> RequestBudget:
    return RequestBudget(per_minute, clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize(("per_minute", "capacity"), [(500, 450), (100, 90), (1, 1)])
def test_capacity_keeps_ten_percent_headroom_under_polars_limit(
    per_minute: int, capacity: int
) -> None:
    assert RequestBudget(per_minute).capacity == capacity


def test_requests_beyond_capacity_wait_until_the_oldest_leaves_the_minute() -> None:
    clock = FakeClock()
    limiter = budget(100, clock)
    start = clock.now
    for _ in range(90):
        assert limiter.acquire() == 0.0
    clock.now += 10  # ten seconds pass
    assert limiter.acquire() == pytest.approx(50)
    assert clock.now == pytest.approx(start + 60)


def test_no_sixty_second_span_holds_more_than_capacity() -> None:
    clock = FakeClock()
    limiter = budget(10, clock)  # capacity 9
    stamps = []
    for _ in range(100):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.5
    for i, stamp in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < stamp + 60) <= 9
    assert stamps[-1] - stamps[0] >= 60 * (100 // 9 - 1)


@pytest.mark.parametrize("per_minute", [None, 0])
def test_no_limit_never_waits(per_minute: int | None) -> None:
    clock = FakeClock()
    limiter = budget(per_minute, clock)
    assert sum(limiter.acquire() for _ in range(10_000)) == 0.0
    assert clock.sleeps == []


def test_pause_holds_the_next_request_even_without_a_limit() -> None:
    clock = FakeClock()
    limiter = budget(None, clock)
    limiter.pause(60)
    assert limiter.paused
    assert limiter.acquire() == 60
    assert not limiter.paused
    assert limiter.acquire() == 0.0


class WouldWait(Exception):
    pass


def test_threads_never_get_more_than_capacity_together() -> None:
    now = 5.0
    admitted = []
    lock = threading.Lock()

    def refuse_to_wait(seconds: float) -> None:
        raise WouldWait

    limiter = RequestBudget(20, headroom=1.0, clock=lambda: now, sleep=refuse_to_wait)

    def take() -> None:
        try:
            limiter.acquire()
        except WouldWait:
            return
        with lock:
            admitted.append(1)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: take(), range(200)))
    assert len(admitted) == 20
