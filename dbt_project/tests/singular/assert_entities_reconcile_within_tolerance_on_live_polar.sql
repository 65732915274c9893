-- Shown in Dagster as a WARN asset check of marts/polar_entity_reconciliation.
-- On live Polar the identities are approximate (exchange rates at transaction time, balances
-- that settle later, fees the entities do not show): a warning for every organization day
-- whose difference exceeds the stated tolerance (seed polar_reconciliation_identities). The
-- rows are kept in audit.assert_entities_reconcile_within_tolerance_on_live_polar.
{{ config(severity='warn', store_failures=true, schema='audit') }}
select
    connection_name,
    organization_id,
    "date",
    metric,
    value_from_entities,
    value_from_polar,
    difference,
    tolerance,
    reason
from {{ ref('polar_entity_reconciliation') }}
where check_severity = 'warn' and not within_tolerance
