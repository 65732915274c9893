"""The emulator's metric definitions (Polar's rules) against the client's catalogue.

The two are written apart on purpose: the emulator from Polar's server code, the client from
Polar's API. Any disagreement here is a wrong rule on one side.
"""

import random

import pytest

from connectors.polar.catalogue import METRIC_SLUGS as CLIENT_SLUGS
from connectors.polar.catalogue import metrics_by_slug
from connectors.polar_emulator.api.metrics.definitions import METRIC_SLUGS, metric_definitions


def test_same_slugs_on_both_sides() -> None:
    assert len(METRIC_SLUGS) == len(set(METRIC_SLUGS)) == 55
    assert set(METRIC_SLUGS) == set(CLIENT_SLUGS)


def test_same_type_and_display_name_for_every_slug() -> None:
    catalogue = metrics_by_slug()
    for metric in metric_definitions():
        assert metric.type == catalogue[metric.slug].type, metric.slug
        assert metric.display_name == catalogue[metric.slug].display_name, metric.slug


def _periods(count: int, seed: int) -> list[dict[str, int | float]]:
    rng = random.Random(seed)
    return [
        {
            slug: rng.choice([0, rng.randint(1, 10_000), rng.uniform(0.0, 500.0)])
            for slug in METRIC_SLUGS
        }
        for _ in range(count)
    ]


@pytest.mark.parametrize(("count", "seed"), [(0, 0), (1, 1), (7, 2), (30, 3), (90, 4)])
def test_same_totals_for_every_slug(count: int, seed: int) -> None:
    catalogue = metrics_by_slug()
    periods = _periods(count, seed)
    for metric in metric_definitions():
        ours, theirs = metric.total(periods), catalogue[metric.slug].total(periods)
        assert ours == pytest.approx(theirs) and type(ours) is type(theirs), metric.slug
