"""Asset checks of the raw Polar assets, computed from the refresh outcome (no extra DB read).

They are emitted by `polar_metrics_daily` itself: a separate check op would have to open the
DuckDB file while another writer may hold it.
"""

import dagster as dg

from orchestration.extract.metrics import RefreshOutcome

METRICS_KEY = dg.AssetKey("polar_metrics_daily")
ALL_LOADED = "polar_metrics_every_organization_loaded"
SCHEMA_DRIFT = "polar_metrics_schema_matches_catalogue"

CHECK_SPECS = [
    dg.AssetCheckSpec(
        ALL_LOADED,
        asset=METRICS_KEY,
        description=(
            "Every active organization and the `all` series were fetched and written in this "
            "refresh. Fails (ERROR) naming each organization that failed and why; that "
            "organization keeps its previous data and the others are up to date."
        ),
    ),
    dg.AssetCheckSpec(
        SCHEMA_DRIFT,
        asset=METRICS_KEY,
        description=(
            "The metric slugs and types Polar sent match `connectors/polar/metric_catalogue.csv`. "
            "Warns on a new slug (stored anyway), a missing slug or a changed type."
        ),
    ),
]


def every_organization_loaded(outcome: RefreshOutcome) -> dg.AssetCheckResult:
    """Failed (ERROR) when any scope of the refresh failed."""
    failed = {s.label: s.error or "unknown error" for s in outcome.failed}
    return dg.AssetCheckResult(
        check_name=ALL_LOADED,
        asset_key=METRICS_KEY,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "All organizations loaded."
            if not failed
            else f"{len(failed)} failed (previous data kept): " + "; ".join(failed)
        ),
        metadata={"refresh_status": outcome.status, "failed": dg.MetadataValue.json(failed)},
    )


def schema_matches_catalogue(outcome: RefreshOutcome) -> dg.AssetCheckResult:
    """Failed (WARN) when Polar's metric definitions drifted from the catalogue."""
    drifted = {kind: slugs for kind, slugs in outcome.drift.items() if slugs}
    return dg.AssetCheckResult(
        check_name=SCHEMA_DRIFT,
        asset_key=METRICS_KEY,
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "Definitions match the catalogue."
            if not drifted
            else "Schema drift: "
            + "; ".join(f"{kind}: {', '.join(slugs)}" for kind, slugs in drifted.items())
        ),
        metadata={"drift": dg.MetadataValue.json(drifted)},
    )
