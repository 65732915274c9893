"""A scripted Polar for unit tests: answers from a list, records every request and every wait."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.polar.catalogue import METRIC_SLUGS
from connectors.polar.client import PolarClient

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def metrics_body(days: int = 2) -> dict[str, Any]:
    """A small but well-formed metrics body with every catalogue slug."""
    periods = [
        {"timestamp": f"2024-01-{day + 1:02d}T00:00:00Z", **dict.fromkeys(METRIC_SLUGS, day)}
        for day in range(days)
    ]
    definitions = {s: {"slug": s, "display_name": s, "type": "scalar"} for s in METRIC_SLUGS}
    return {"periods": periods, "totals": dict.fromkeys(METRIC_SLUGS, 0), "metrics": definitions}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response with a JSON body."""
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


@dataclass
class ScriptedPolar:
    """Serves `answers` in order (the last one repeats), recording requests and sleeps."""

    answers: list[Answer]
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        # A fresh copy each time: a response object belongs to one request.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def client(self, auth: httpx.Auth | None = None, **options: Any) -> PolarClient:
        """A PolarClient talking to this script; waits are recorded, not slept."""
        return PolarClient(
            "https://api.polar.test",
            auth,
            transport=httpx.MockTransport(self.handle),
            sleep=self.sleeps.append,
            **options,
        )
