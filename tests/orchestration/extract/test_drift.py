"""Schema drift against the metric catalogue: stored and reported, never a crash."""

from datetime import date

from connectors.polar.catalogue import METRIC_SLUGS, metrics_by_slug
from connectors.polar.records import MetricsResponse
from orchestration.extract.drift import detect_drift
from orchestration.extract.metric_rows import frame_from_response


def response_with(definitions: dict[str, str], values: dict[str, float]) -> MetricsResponse:
    """A one-day response with these slug -> type definitions and values."""
    return MetricsResponse.from_api(
        {
            "periods": [{"timestamp": "2026-01-01T00:00:00Z", **values}],
            "totals": values,
            "metrics": {
                slug: {"slug": slug, "display_name": slug.title(), "type": kind}
                for slug, kind in definitions.items()
            },
        }
    )


def catalogue_types() -> dict[str, str]:
    """slug -> type for the whole catalogue."""
    return {slug: metrics_by_slug()[slug].type for slug in METRIC_SLUGS}


def test_matching_definitions_are_all_known() -> None:
    drift = detect_drift([response_with(catalogue_types(), {})])
    assert {d.drift for d in drift} == {"known"} and len(drift) == 55


def test_new_slug_is_stored_and_marked_new() -> None:
    types = {**catalogue_types(), "shiny_new_metric": "scalar"}
    response = response_with(types, {"shiny_new_metric": 7})
    drift = {d.slug: d.drift for d in detect_drift([response])}
    assert drift["shiny_new_metric"] == "new"
    rows = frame_from_response("default", "org", response, date(2026, 1, 1))
    assert list(zip(rows["metric_slug"], rows["value"], strict=True)) == [("shiny_new_metric", 7.0)]


def test_missing_slug_and_changed_type_are_flagged() -> None:
    types = catalogue_types()
    del types["revenue"]
    types["orders"] = "currency"
    drift = {d.slug: d.drift for d in detect_drift([response_with(types, {})])}
    assert drift["revenue"] == "missing"
    assert drift["orders"] == "type_changed"
    assert sum(1 for kind in drift.values() if kind == "known") == 53


def test_without_any_response_the_catalogue_is_written_as_known() -> None:
    drift = detect_drift([])
    assert [d.slug for d in drift] == list(METRIC_SLUGS)
    assert {d.drift for d in drift} == {"known"}
