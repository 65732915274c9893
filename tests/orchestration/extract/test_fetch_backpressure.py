"""The fetch hand-over is bounded: fetchers wait for a slow writer, and stop when it goes away."""

import threading
import time
from collections.abc import Sequence
from datetime import date

from connectors.polar.records import MetricsResponse, Organization
from orchestration.extract.metrics_fetch import QUEUE_RESULTS_PER_WORKER, fetch_in_batches
from orchestration.extract.scopes import Scope

DAY = date(2025, 1, 1)
BODY = {
    "periods": [{"timestamp": "2025-01-01T00:00:00Z", "revenue": 5}],
    "totals": {"revenue": 5},
    "metrics": {"revenue": {"slug": "revenue", "display_name": "Revenue", "type": "currency"}},
}


class CountingClient:
    """Answers every metrics call at once and counts them."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def list_organizations(self) -> list[Organization]:
        return []

    def get_metrics(self, *, organization_ids: Sequence[str] = (), **_: object) -> MetricsResponse:
        with self.lock:
            self.calls += 1
        return MetricsResponse.from_api(BODY, raw_body='{"big": "body"}')


def settled_calls(client: CountingClient) -> int:
    """The call count once it stopped moving (the fetchers are all waiting)."""
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 0.3:
        if client.calls != last:
            last, stable_since = client.calls, time.monotonic()
        time.sleep(0.02)
    return last


def test_fetchers_wait_for_a_slow_writer_and_stop_when_it_goes_away() -> None:
    client = CountingClient()
    concurrency = 2
    scopes = [Scope(f"org{i}", f"Org {i}", (f"org{i}",)) for i in range(60)]
    batches = fetch_in_batches(
        client,
        scopes,
        connection_name="default",
        start=DAY,
        end=DAY,
        timezone="UTC",
        concurrency=concurrency,
    )
    first = next(batches)
    # Taken + queued + one finished call per fetcher waiting to hand over: nothing more.
    bound = len(first) + QUEUE_RESULTS_PER_WORKER * concurrency + concurrency
    assert settled_calls(client) <= bound < len(scopes)
    started = time.monotonic()
    batches.close()
    assert time.monotonic() - started < 5
    assert settled_calls(client) <= bound


def test_results_keep_definitions_and_body_but_not_the_parsed_periods() -> None:
    client = CountingClient()
    batches = list(
        fetch_in_batches(
            client,
            [Scope("org1", "Org 1", ("org1",))],
            connection_name="default",
            start=DAY,
            end=DAY,
            timezone="UTC",
            concurrency=4,
        )
    )
    (result,) = [r for batch in batches for r in batch]
    assert result.response is not None and result.frame is not None
    assert result.response.periods == []
    assert set(result.response.definitions) == {"revenue"}
    assert result.response.raw_body == '{"big": "body"}'
    assert result.frame["value"].tolist() == [5.0]
