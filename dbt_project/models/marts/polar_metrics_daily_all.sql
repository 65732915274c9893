-- One row per connection x date: the multi-organization rollup (see int_polar__metrics_rolled_up
-- for how each metric combines across organizations), one column per catalogue metric.
select
    rolled_up.connection_name,
    rolled_up.metric_date as "date",
    rolled_up.metric_date = connections.reporting_date as is_partial_day,
    fetched.fetched_at,
    currency.active_organization_count as organization_count,
    currency.currencies,
    currency.currency_mismatch,
    {{ polar_metric_columns('rolled_up.metric_slug', 'rolled_up.metric_value') }}
from {{ ref('int_polar__metrics_rolled_up') }} as rolled_up
inner join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
inner join {{ ref('int_polar__connections_currency_checked') }} as currency using (connection_name)
left join (
    select connection_name, metric_date, max(fetched_at) as fetched_at
    from {{ ref('int_polar__metrics_scoped') }}
    where scope = 'all'
    group by all
) as fetched using (connection_name, metric_date)
group by all
