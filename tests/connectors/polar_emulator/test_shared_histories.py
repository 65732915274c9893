"""Emulators of one process share each organization's simulated history when their business is
the same (scenario, seed, clock), and only then: a test run starts hundreds of emulators."""

from datetime import timedelta

import numpy as np

from connectors.polar_emulator.business.world import build_world, forget_shared_histories
from connectors.polar_emulator.config import EmulatorConfig
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW


def histories(config: EmulatorConfig, now=FIXED_NOW) -> dict:
    world = build_world(config)
    return {org_id: world.history(org_id, now) for org_id in world.organizations}


def test_the_same_business_shares_its_histories_and_another_seed_does_not() -> None:
    config = EmulatorConfig(scenario="many", orgs=3, now=FIXED_NOW)
    first, second = histories(config), histories(config)
    assert first.keys() == second.keys()
    assert all(first[org] is second[org] for org in first)
    other_seed = histories(EmulatorConfig(scenario="many", orgs=3, now=FIXED_NOW, seed=7))
    assert not set(other_seed) & set(first)  # other organizations altogether


def test_a_clock_past_the_simulated_horizon_gets_a_longer_history() -> None:
    config = EmulatorConfig(scenario="single", now=FIXED_NOW)
    (short,) = histories(config).values()
    later = FIXED_NOW + timedelta(days=200)
    (longer,) = histories(config, now=later).values()
    assert longer is not short and longer.horizon > short.horizon
    (again,) = histories(config, now=later).values()
    assert again is longer


def test_forgetting_simulates_again_with_an_identical_result() -> None:
    config = EmulatorConfig(scenario="single", now=FIXED_NOW)
    (before,) = histories(config).values()
    forget_shared_histories()
    (after,) = histories(config).values()
    assert after is not before
    assert np.array_equal(after.orders.time, before.orders.time)
    assert np.array_equal(after.subscriptions.amount, before.subscriptions.amount)
