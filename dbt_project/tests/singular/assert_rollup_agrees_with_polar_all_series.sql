-- Shown in Dagster as an asset check of marts/polar_metrics_daily_all. What it checks, and why
-- its severity depends on the connection's environment: tests/singular/_singular_tests.yml.
--
-- Every metric of the `all` rollup (polar_metrics_daily_all), day by day, against Polar's own
-- server-side series over all active organizations (the `all` scope of raw.polar_metrics).
-- One row per difference, with the severity it carries:
--   emulator connections   `error`; integers (cents, counts) must be equal, floats (ratios,
--                          sub-cent costs) within 1e-9 relative (summation order only)
--   live Polar             var `polar_all_series_live_severity` (default `warn`), ignoring
--                          differences within var `polar_all_series_live_tolerance` (relative;
--                          default 0): the per-organization and `all` calls are seconds apart
-- The test fails with ERROR when any row carries `error`, and only warns otherwise (dbt appends
-- `error_if` to `fail_calc`, the row count). Connections whose latest refresh was partial are
-- skipped: a failed organization keeps older days that may legitimately differ.
{%- set live_severity = var('polar_all_series_live_severity', 'warn') %}
{%- set live_tolerance = var('polar_all_series_live_tolerance', 0) %}
{%- if live_severity not in ('warn', 'error') %}
    {{ exceptions.raise_compiler_error(
        "var polar_all_series_live_severity must be 'warn' or 'error', not '"
        ~ live_severity ~ "'") }}
{%- endif %}
{%- if live_tolerance is not number or live_tolerance < 0 %}
    {{ exceptions.raise_compiler_error(
        "var polar_all_series_live_tolerance must be a number >= 0 (a relative tolerance), not '"
        ~ live_tolerance ~ "'") }}
{%- endif %}
{{ config(
    severity='error',
    error_if="!= 0 and count(*) filter (where severity = 'error') > 0",
    meta={'dagster': {'ref': {'name': 'polar_metrics_daily_all'}}},
) }}
with catalogue as (
    select slug, unit in ('count', 'cents') as is_integer
    from {{ ref('polar_metric_catalogue') }}
),

checked_connections as (
    select
        dated.connection_name,
        coalesce(connections.environment, 'unknown') as environment,
        coalesce(connections.environment = 'emulator', false) as is_emulator
    from {{ ref('int_polar__connections_dated') }} as dated
    left join {{ ref('stg_polar__connections') }} as connections using (connection_name)
    where coalesce(dated.latest_refresh_status, 'success') = 'success'
),

rollup_days as (
    unpivot (
        select * exclude (is_partial_day, fetched_at, organization_count, currencies, currency_mismatch)
        from {{ ref('polar_metrics_daily_all') }}
    )
    on columns(* exclude (connection_name, "date"))
    into name metric value metric_value
),

polar_all as (
    select connection_name, metric_date, metric_slug, metric_value
    from {{ ref('stg_polar__metrics') }}
    where is_polar_all_series
),

-- Driven by Polar's series: a metric Polar reported that the rollup lacks (null) is a difference.
compared as (
    select
        polar_all.connection_name,
        checked_connections.environment,
        checked_connections.is_emulator,
        polar_all.metric_date as "date",
        polar_all.metric_slug as metric,
        rollup_days.metric_value as rollup_value,
        polar_all.metric_value as polar_all_value,
        abs(rollup_days.metric_value - polar_all.metric_value) as difference,
        -- Integers exactly; floats up to the last bits a different order of summation moves.
        case when catalogue.is_integer then 0
            else 1e-9 * greatest(1, abs(polar_all.metric_value))
        end as exact_tolerance
    from polar_all
    inner join catalogue on catalogue.slug = polar_all.metric_slug
    inner join checked_connections using (connection_name)
    left join rollup_days
        on rollup_days.connection_name = polar_all.connection_name
        and rollup_days."date" = polar_all.metric_date
        and rollup_days.metric = polar_all.metric_slug
)

select
    connection_name,
    environment,
    "date",
    metric,
    rollup_value,
    polar_all_value,
    difference,
    case when is_emulator then 'error' else '{{ live_severity }}' end as severity
from compared
where rollup_value is null
   or difference > case
        when is_emulator then exact_tolerance
        else greatest(
            exact_tolerance,
            {{ live_tolerance }} * greatest(1, abs(polar_all_value))
        )
    end
