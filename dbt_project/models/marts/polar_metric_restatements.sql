-- What Polar restated since the previous refresh: per organization (or `all`), day and metric,
-- the value before and after the latest refresh that wrote metrics. Refunds move net revenue
-- back to the original order's day and cancellations move committed MRR, so past days change.
with latest_refresh as (
    select connection_name, started_at, finished_at
    from {{ ref('stg_polar__refreshes') }}
    where refresh_status in ('success', 'partial')
    qualify row_number() over (
        partition by connection_name order by finished_at desc, started_at desc
    ) = 1
)

select
    revisions.connection_name,
    revisions.organization_id as scope,
    nullif(revisions.organization_id, 'all') as organization_id,
    revisions.metric_date as "date",
    revisions.metric_slug as metric,
    revisions.previous_value,
    revisions.metric_value as value,
    revisions.metric_value - revisions.previous_value as change,
    revisions.previously_fetched_at,
    revisions.fetched_at
from {{ ref('stg_polar__metric_revisions') }} as revisions
inner join latest_refresh
    on latest_refresh.connection_name = revisions.connection_name
    and revisions.fetched_at between latest_refresh.started_at and latest_refresh.finished_at
