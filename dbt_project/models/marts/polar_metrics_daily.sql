-- One row per connection x queried organization x date; one column per catalogue metric
-- (the columns are generated from the catalogue into _polar__daily_marts.yml).
with daily as (
    select connection_name, organization_id, metric_date, metric_slug, metric_value, fetched_at
    from {{ ref('int_polar__metrics_scoped') }}
    where series = 'organization'
)

select
    daily.connection_name,
    daily.organization_id,
    organizations.organization_name,
    organizations.presentment_currency,
    daily.metric_date as "date",
    daily.metric_date = connections.reporting_date as is_partial_day,
    max(daily.fetched_at) as fetched_at,
    {{ polar_metric_columns('daily.metric_slug', 'daily.metric_value') }}
from daily
inner join {{ ref('stg_polar__organizations') }} as organizations
    using (connection_name, organization_id)
inner join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
group by all
