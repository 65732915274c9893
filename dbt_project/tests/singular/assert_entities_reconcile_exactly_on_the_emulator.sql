-- Shown in Dagster as an ERROR asset check of marts/polar_entity_reconciliation.
-- On connections that must reconcile exactly (var polar_exact_reconciliation_environments: the
-- emulator, whose entities and metrics come from one simulation) every compared organization
-- day agrees to the cent: revenue and net revenue from the orders, active subscriptions and
-- MRR from the subscriptions. One row per disagreement, naming the organization and the day;
-- the rows are kept in audit.assert_entities_reconcile_exactly_on_the_emulator.
{{ config(severity='error', store_failures=true, schema='audit') }}
select
    connection_name,
    organization_id,
    "date",
    metric,
    value_from_entities,
    value_from_polar,
    difference,
    'organization ' || organization_id || ' on ' || strftime("date", '%Y-%m-%d') || ': '
        || metric || ' from the entities ' || coalesce(cast(value_from_entities as varchar), 'unknown')
        || ', Polar ' || cast(value_from_polar as varchar) || ' (' || coalesce(reason, '') || ')'
        as failure
from {{ ref('polar_entity_reconciliation') }}
where check_severity = 'error' and not exact
