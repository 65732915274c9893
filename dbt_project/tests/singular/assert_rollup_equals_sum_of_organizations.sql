-- Shown in Dagster as an asset check of marts/polar_metrics_daily_all.
{{ config(meta={'dagster': {'ref': {'name': 'polar_metrics_daily_all'}}}) }}
-- For every additive metric of the catalogue, the `all` rollup equals the sum of the
-- organizations: each day (polar_metrics_daily_all) and each period (polar_period_summary).
-- The metric columns are unpivoted, so a metric added to the catalogue is checked too.
with catalogue as (
    select slug from {{ ref('polar_metric_catalogue') }} where org_aggregation = 'additive'
),

organization_days as (
    unpivot (select * exclude (organization_id, organization_name, presentment_currency, is_partial_day, fetched_at)
             from {{ ref('polar_metrics_daily') }})
    on columns(* exclude (connection_name, "date"))
    into name metric value metric_value
),

rollup_days as (
    unpivot (select * exclude (is_partial_day, fetched_at, organization_count, currencies, currency_mismatch)
             from {{ ref('polar_metrics_daily_all') }})
    on columns(* exclude (connection_name, "date"))
    into name metric value metric_value
),

daily_differences as (
    select
        'daily' as grain,
        rollup_days.connection_name,
        cast(rollup_days."date" as varchar) as at,
        rollup_days.metric,
        rollup_days.metric_value as rollup_value,
        coalesce(sum(organization_days.metric_value), 0) as organizations_value
    from rollup_days
    inner join catalogue on catalogue.slug = rollup_days.metric
    left join organization_days
        on organization_days.connection_name = rollup_days.connection_name
        and organization_days."date" = rollup_days."date"
        and organization_days.metric = rollup_days.metric
    group by all
),

period_differences as (
    select
        'period' as grain,
        rollup.connection_name,
        rollup.period as at,
        rollup.metric,
        rollup.value as rollup_value,
        coalesce(sum(organizations.value), 0) as organizations_value
    from {{ ref('polar_period_summary') }} as rollup
    inner join catalogue on catalogue.slug = rollup.metric
    left join {{ ref('polar_period_summary') }} as organizations
        on organizations.connection_name = rollup.connection_name
        and organizations.period = rollup.period
        and organizations.metric = rollup.metric
        and organizations.scope <> 'all'
    where rollup.scope = 'all'
    group by all
)

select *
from (select * from daily_differences union all select * from period_differences)
-- Float metrics (sub-cent costs) may differ in the last bits from the order of summation.
where abs(rollup_value - organizations_value) > 1e-9 * greatest(1, abs(organizations_value))
