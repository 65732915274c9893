-- The organization x local day x metric comparisons the data supports: Polar's daily value of
-- a reconciled metric (seed polar_reconciliation_identities) where the entities behind it are
-- known for that whole day. A day is selected only when
--   - the organization's sync of that entity last ended `ok` (a failed, interrupted or
--     scope-less sync compares nothing: the raw asset's checks report it),
--   - the day had ended both when Polar was asked and when the entities were read (today is
--     still running; its two reads saw different moments),
--   - both reads belong to one refresh (var polar_reconciliation_same_refresh_minutes): at
--     Polar a refund or an upgrade changes past days of net revenue and MRR,
--   - and it is not before the organization's first synced entity (its first order; its
--     first subscription's start).
-- So a day is never flagged because the entity sync has not run.
with identities as (
    select metric, entity from {{ ref('polar_reconciliation_identities') }}
),

zones as (
    select connection_name, reporting_timezone from {{ ref('int_polar__connections_dated') }}
),

finished_syncs as (
    select connection_name, organization_id, entity, last_synced_at
    from {{ ref('stg_polar__entity_syncs') }}
    where sync_status = 'ok' and not is_unfinished
),

first_entity_days as (
    select
        orders.connection_name,
        orders.organization_id,
        'orders' as entity,
        min({{ polar_local_date('orders.created_at', 'zones.reporting_timezone') }})
            as first_entity_date
    from {{ ref('stg_polar__orders') }} as orders
    left join zones using (connection_name)
    group by all
    union all
    select
        subscriptions.connection_name,
        subscriptions.organization_id,
        'subscriptions' as entity,
        min({{ polar_local_date(
            'coalesce(subscriptions.started_at, subscriptions.created_at)',
            'zones.reporting_timezone'
        ) }}) as first_entity_date
    from {{ ref('stg_polar__subscriptions') }} as subscriptions
    left join zones using (connection_name)
    group by all
)

select
    metrics.connection_name,
    metrics.organization_id,
    metrics.metric_date,
    metrics.metric_slug as metric,
    identities.entity,
    metrics.metric_value as value_from_polar,
    metrics.fetched_at as polar_fetched_at,
    finished_syncs.last_synced_at as entities_synced_at
from {{ ref('stg_polar__metrics') }} as metrics
inner join identities on identities.metric = metrics.metric_slug
left join zones on zones.connection_name = metrics.connection_name
inner join finished_syncs
    on finished_syncs.connection_name = metrics.connection_name
    and finished_syncs.organization_id = metrics.organization_id
    and finished_syncs.entity = identities.entity
inner join first_entity_days
    on first_entity_days.connection_name = metrics.connection_name
    and first_entity_days.organization_id = metrics.organization_id
    and first_entity_days.entity = identities.entity
where not metrics.is_polar_all_series
    and metrics.metric_date >= first_entity_days.first_entity_date
    and metrics.metric_date
        < {{ polar_local_date('metrics.fetched_at', 'zones.reporting_timezone') }}
    and metrics.metric_date
        < {{ polar_local_date('finished_syncs.last_synced_at', 'zones.reporting_timezone') }}
    and abs(epoch(finished_syncs.last_synced_at) - epoch(metrics.fetched_at))
        <= 60 * {{ var('polar_reconciliation_same_refresh_minutes') }}
