"""Schema drift: compare the metric definitions Polar sent with the catalogue, never fail."""

from collections.abc import Sequence

from connectors.polar.catalogue import metric_catalogue, metrics_by_slug
from connectors.polar.records import MetricsResponse
from orchestration.warehouse.writes import DefinitionRow


def detect_drift(responses: Sequence[MetricsResponse]) -> list[DefinitionRow]:
    """Every slug seen or expected, marked known | new | missing | type_changed.

    With no response at all (zero active organizations) nothing can be missing: the catalogue is
    written as `known` so the marts still have definitions.
    """
    catalogue = metrics_by_slug()
    seen = {slug: d for response in responses for slug, d in response.definitions.items()}
    if not responses:
        return [DefinitionRow(m.slug, m.display_name, m.type, "known") for m in metric_catalogue()]
    rows = []
    for slug, definition in seen.items():
        expected = catalogue.get(slug)
        if expected is None:
            drift = "new"
        elif expected.type != definition.type:
            drift = "type_changed"
        else:
            drift = "known"
        rows.append(DefinitionRow(slug, definition.display_name, definition.type, drift))
    rows.extend(
        DefinitionRow(m.slug, m.display_name, m.type, "missing")
        for m in metric_catalogue()
        if m.slug not in seen
    )
    return rows
