"""Asset checks of the entity assets, computed from the sync outcome (no extra DB read): every
organization synced (ERROR), the scope granted (WARN, with how to grant it) and schema drift
(WARN: fields Polar sent that its schema lacks, or left out)."""

import dagster as dg

from orchestration.extract.entities import EntitySyncOutcome


def check_names(asset_name: str) -> tuple[str, str, str]:
    """(every organization synced, scope granted, schema matches) for one entity asset."""
    return (
        f"{asset_name}_every_organization_synced",
        f"{asset_name}_scope_granted",
        f"{asset_name}_schema_matches_polar",
    )


def check_specs(asset_name: str, entity: str, scope: str) -> list[dg.AssetCheckSpec]:
    """The three checks of one entity asset."""
    synced, granted, schema = check_names(asset_name)
    key = dg.AssetKey(asset_name)
    return [
        dg.AssetCheckSpec(
            synced,
            asset=key,
            description=f"Every active organization's {entity} were synced. Fails (ERROR) naming "
            "each organization that failed and why; it keeps its rows and resumes next time.",
        ),
        dg.AssetCheckSpec(
            granted,
            asset=key,
            description=f"The connection holds `{scope}`. Warns when Polar refuses it: the other "
            "entities still sync; the description says how to grant the scope.",
        ),
        dg.AssetCheckSpec(
            schema,
            asset=key,
            description=f"Polar's {entity} carry the fields of its schema. Warns on new fields "
            "(kept in the `item` JSON) or missing ones (null columns); never fails the sync.",
        ),
    ]


def entity_check_results(asset_name: str, outcome: EntitySyncOutcome) -> list[dg.AssetCheckResult]:
    """The three check results of one sync."""
    synced, granted, schema = check_names(asset_name)
    key = dg.AssetKey(asset_name)
    failed = {o.label: o.error or "unknown error" for o in outcome.failed}
    unserved = [o.label for o in outcome.organizations if o.status == "not_served"]
    drifted = {kind: fields for kind, fields in outcome.drift.items() if fields}
    return [
        dg.AssetCheckResult(
            check_name=synced,
            asset_key=key,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            description="All organizations synced."
            if not failed
            else f"{len(failed)} failed (rows kept, resumes next time): "
            + "; ".join(f"{label}: {error}" for label, error in failed.items()),
            metadata={"failed": dg.MetadataValue.json(failed)},
        ),
        dg.AssetCheckResult(
            check_name=granted,
            asset_key=key,
            passed=outcome.missing_scope is None and not unserved,
            severity=dg.AssetCheckSeverity.WARN,
            description=outcome.scope_error
            or (
                f"This Polar does not serve the {outcome.entity} endpoint (404)."
                if unserved
                else "Scope granted."
            ),
            metadata={"missing_scope": outcome.missing_scope or ""},
        ),
        dg.AssetCheckResult(
            check_name=schema,
            asset_key=key,
            passed=not drifted,
            severity=dg.AssetCheckSeverity.WARN,
            description="Items match Polar's schema."
            if not drifted
            else "Schema drift: "
            + "; ".join(f"{kind}: {', '.join(fields)}" for kind, fields in drifted.items()),
            metadata={"drift": dg.MetadataValue.json(drifted)},
        ),
    ]
