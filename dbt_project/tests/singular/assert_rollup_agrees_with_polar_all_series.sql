-- Shown in Dagster as an asset check of marts/polar_metrics_daily_all.
-- A warning, not an error: Polar's data is live, and the per-organization calls and the "all"
-- call of one refresh are made seconds apart, so a subscription canceled in between moves
-- the committed metrics (computed from today's cancellation state for every day) and today's
-- counts of one side only. The strict internal check is assert_rollup_equals_sum_of_organizations.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'polar_metrics_daily_all'}}}) }}
-- For every additive metric, the rollup (polar_metrics_daily_all, the sum of organizations)
-- agrees with Polar's own server-side series over all active organizations, day by day. Only
-- for connections whose latest refresh succeeded for every organization: after a partial refresh
-- a failed organization keeps older days and may legitimately differ from the server's sum.
-- Whole cents computed from sub-cent costs (cashflow, gross margin) are rounded per
-- organization and once by the server, so those sums may differ by half a cent per rounding.
with catalogue as (
    select slug, unit
    from {{ ref('polar_metric_catalogue') }}
    where org_aggregation = 'additive'
),

fully_refreshed as (
    select connection_name
    from {{ ref('int_polar__connections_dated') }}
    where coalesce(latest_refresh_status, 'success') = 'success'
),

rollup_days as (
    unpivot (select * exclude (is_partial_day, currencies, currency_mismatch)
             from {{ ref('polar_metrics_daily_all') }})
    on columns(* exclude (connection_name, "date", organization_count))
    into name metric value metric_value
),

polar_all as (
    select connection_name, metric_date, metric_slug, metric_value
    from {{ ref('stg_polar__metrics') }}
    where is_polar_all_series
)

select
    rollup_days.connection_name,
    rollup_days."date",
    rollup_days.metric,
    rollup_days.metric_value as rollup_value,
    polar_all.metric_value as polar_all_value
from rollup_days
inner join catalogue on catalogue.slug = rollup_days.metric
inner join fully_refreshed using (connection_name)
inner join polar_all
    on polar_all.connection_name = rollup_days.connection_name
    and polar_all.metric_date = rollup_days."date"
    and polar_all.metric_slug = rollup_days.metric
where abs(rollup_days.metric_value - polar_all.metric_value) > greatest(
    1e-9 * greatest(1, abs(polar_all.metric_value)),
    case when catalogue.unit = 'cents' then 0.5 * (rollup_days.organization_count + 1) else 0 end
)
