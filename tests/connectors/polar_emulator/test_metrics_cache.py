"""The multi-organization metrics answer reuses each organization's computed components.

Proven over HTTP against a fixed clock: a repeated call (served from the cache) is identical to
the first and to a cold emulator's answer; after `POST /__emulator__/clock` the answer is the
business's new state, equal to what a cold emulator computes at that time.
"""

from datetime import timedelta
from typing import Any

from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world import forget_shared_histories
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, TODAY, api_session

QUERY = {
    "start_date": str(TODAY - timedelta(days=89)),
    "end_date": str(TODAY),
    "interval": "day",
    "timezone": "UTC",
}
SCENARIO = {"scenario": "many", "orgs": 6}


def all_organizations(api: Any) -> dict[str, Any]:
    """The metrics of every visible organization summed in one call."""
    return api.metrics_ok(**QUERY, organization_id=api.visible_ids())


def cached_entries(api: Any) -> int:
    """How many organization results the emulator holds (0 before any metrics call)."""
    histories: dict[str, OrganizationHistory] = api.world._histories
    return sum(len(h.lookups.get("metrics.components", ())) for h in histories.values())


def test_the_cached_answer_equals_the_uncached_one(start_emulator) -> None:
    forget_shared_histories()  # computed here, not by an earlier emulator of this process
    with api_session(start_emulator, **SCENARIO) as api:
        first = all_organizations(api)
        assert cached_entries(api) == 6
        again = all_organizations(api)
        assert cached_entries(api) == 6  # served from the cache, nothing recomputed
    forget_shared_histories()  # else the next emulator would share the cached histories
    with api_session(start_emulator, **SCENARIO) as cold:
        assert again == first == all_organizations(cold)


def test_advancing_the_clock_invalidates_the_cached_answer(start_emulator) -> None:
    forget_shared_histories()
    with api_session(start_emulator, **SCENARIO) as api:
        before = all_organizations(api)
        response = api.http.post("/__emulator__/clock", json={"advance_days": 3})
        assert response.status_code == 200, response.text
        after = all_organizations(api)
    assert after != before
    # A cold emulator whose clock starts where the first one's was advanced to.
    forget_shared_histories()
    with api_session(start_emulator, **SCENARIO, now=FIXED_NOW + timedelta(days=3)) as cold:
        assert after == all_organizations(cold)
