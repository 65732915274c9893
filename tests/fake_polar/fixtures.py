"""The fake Polar as the tests use it: a world, its base URL, clients and one-call syncs."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors.polar.client import PolarClient
from connectors.polar.pii import PiiPolicy
from connectors.polar.records import Organization
from orchestration.extract.entities import (
    ENTITY_ORDER,
    EntityProgress,
    EntitySyncOutcome,
    sync_entity,
)
from orchestration.extract.entity_run import SyncPolicy
from tests.fake_polar.app import create_fake_app
from tests.fake_polar.server import serve
from tests.fake_polar.world import FakeWorld

TEST_PII = PiiPolicy("hash", b"0123456789abcdef0123456789abcdef")


class StaticBearer(httpx.Auth):
    """A fixed bearer token (the fake checks that one is sent, not which)."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = "Bearer polar_at_u_faketoken"
        yield request


@dataclass
class FakePolar:
    """A served fake world."""

    world: FakeWorld
    base_url: str

    def client(self, **options: Any) -> PolarClient:
        """A real PolarClient against the fake (no rate limit unless asked)."""
        return PolarClient(self.base_url, StaticBearer(), **options)

    def organizations(self) -> list[Organization]:
        """The world's organizations, active, as the connection would list them."""
        return [
            Organization(org.id, org.name, org.name.lower(), "active", org.currency)
            for org in self.world.organizations.values()
        ]

    def sync(
        self,
        warehouse: Path,
        entities: Sequence[str] = ENTITY_ORDER,
        *,
        policy: SyncPolicy | None = None,
        pii: PiiPolicy = TEST_PII,
        on_progress: Callable[[EntityProgress], None] | None = None,
        client: PolarClient | None = None,
        concurrency: int = 2,
    ) -> dict[str, EntitySyncOutcome]:
        """Sync these entities (in the pipeline's order) into `warehouse` at the world's now."""
        outcomes = {}
        with client or self.client() as polar:
            for entity in entities:
                outcomes[entity] = sync_entity(
                    polar,
                    warehouse_path=warehouse,
                    connection_name="default",
                    organizations=self.organizations(),
                    entity=entity,
                    policy=policy or SyncPolicy(),
                    pii=pii,
                    on_progress=on_progress,
                    now=lambda: self.world.now,
                    concurrency=concurrency,
                )
        return outcomes

    def requests(self, entity: str) -> list[dict[str, list[str]]]:
        """The query parameters of every request served for `entity`."""
        return [params for served, params in self.world.requests if served == entity]


def seeded_world(organizations: int = 2, days: int = 120, seed: int = 7) -> FakeWorld:
    """A world with `organizations` organizations and `days` days of history."""
    world = FakeWorld(seed=seed)
    for number in range(organizations):
        world.add_organization(name=f"Org {number + 1}", currency="usd" if number == 0 else "eur")
    world.advance(days)
    return world


@contextmanager
def fake_polar(world: FakeWorld) -> Iterator[FakePolar]:
    """Serve `world` on loopback."""
    with serve(create_fake_app(world)) as base_url:
        yield FakePolar(world, base_url)
