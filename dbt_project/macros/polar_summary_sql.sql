{#- The period summary's SQL, the one place for its rules; what they are, its arguments and its
    two users (the model `polar_period_summary` and the hook creating the table macro
    `marts.polar_summary`) are documented in macros/_macros.yml, shown on the docs site.
    Internal names avoid `start_date`/`end_date`: DuckDB substitutes macro parameters for
    identifiers of that name. -#}
{% macro polar_summary_sql(ranges, connections, organizations, currency_check, daily_long, catalogue) %}
with connections as (
    select connection_name, reporting_date from {{ connections }}
),

scopes as (
    select
        organizations.connection_name,
        organizations.organization_id as scope,
        organizations.organization_id,
        organizations.presentment_currency,
        false as currency_mismatch
    from {{ organizations }} as organizations
    where organizations.is_queried
    union all
    select
        connection_name,
        'all' as scope,
        null as organization_id,
        case when not currency_mismatch then currencies end as presentment_currency,
        currency_mismatch
    from {{ currency_check }}
),

requested_ranges as (
    select
        ranges.connection_name,
        ranges.period,
        ranges.period_order,
        ranges.range_start,
        ranges.range_end,
        cast(ranges.range_end - ranges.range_start + 1 as integer) as range_days,
        ranges.range_end >= connections.reporting_date as includes_today
    from {{ ranges }} as ranges
    inner join connections using (connection_name)
    where ranges.range_end >= ranges.range_start
),

compared_ranges as (
    select *, 'current' as which, range_start as window_start, range_end as window_end
    from requested_ranges
    union all
    select *, 'previous' as which,
        range_start - range_days as window_start, range_start - 1 as window_end
    from requested_ranges
),

grid as (
    select
        compared_ranges.*,
        scopes.scope,
        scopes.organization_id,
        scopes.presentment_currency,
        scopes.currency_mismatch,
        catalogue.slug as metric,
        catalogue.type as metric_type,
        catalogue.unit,
        catalogue.time_aggregation,
        catalogue.org_aggregation,
        catalogue.total_numerator,
        catalogue.total_numerator_agg,
        catalogue.total_denominator,
        catalogue.total_denominator_agg,
        catalogue.total_cast,
        case
            when scopes.scope <> 'all' then 'organization'
            when catalogue.org_aggregation = 'polar_all' then 'polar_all'
            else 'sum_of_organizations'
        end as series
    from compared_ranges
    inner join scopes using (connection_name)
    cross join {{ catalogue }} as catalogue
),

-- Each window as its days, so the metrics join on (connection, date) equality: joined on the
-- connection with the date `between` the window's ends, every daily row met every window of its
-- connection first (12 each) and the model was a third of a 540-connection build (48 s; 10 s
-- this way, same rows, measured December 2026).
window_days as (
    select
        connection_name,
        period,
        which,
        window_end,
        cast(unnest(generate_series(window_start, window_end, interval 1 day)) as date)
            as window_date
    from compared_ranges
),

slug_totals as (
    select
        window_days.connection_name,
        window_days.period,
        window_days.which,
        daily.scope,
        daily.series,
        daily.metric,
        sum(daily.value) as summed_value,
        max(daily.value) filter (where daily."date" = window_days.window_end) as last_value,
        -- days with a value: one row per day here (daily_long is unique per connection,
        -- scope, series, date and metric, a dbt test run before this model)
        count(*) as days_present,
        max(daily.fetched_at) as fetched_at
    from window_days
    inner join {{ daily_long }} as daily
        on daily.connection_name = window_days.connection_name
        and daily."date" = window_days.window_date
    group by all
),

components as (
    select
        grid.*,
        case grid.total_numerator_agg
            when 'sum' then coalesce(numerator.summed_value, 0)
            else coalesce(numerator.last_value, 0)
        end as numerator_value,
        case grid.total_denominator_agg
            when 'sum' then coalesce(denominator.summed_value, 0)
            else coalesce(denominator.last_value, 0)
        end as denominator_value,
        coalesce(numerator.days_present, 0) = grid.range_days
            and (grid.total_denominator is null
                 or coalesce(denominator.days_present, 0) = grid.range_days) as is_complete,
        greatest(numerator.fetched_at, denominator.fetched_at) as fetched_at
    from grid
    left join slug_totals as numerator
        on numerator.connection_name = grid.connection_name
        and numerator.period = grid.period
        and numerator.which = grid.which
        and numerator.scope = grid.scope
        and numerator.series = grid.series
        and numerator.metric = grid.total_numerator
    left join slug_totals as denominator
        on denominator.connection_name = grid.connection_name
        and denominator.period = grid.period
        and denominator.which = grid.which
        and denominator.scope = grid.scope
        and denominator.series = grid.series
        and denominator.metric = grid.total_denominator
),

valued as (
    select
        components.*,
        cast(case
            when total_denominator is not null then
                case when denominator_value > 0 then numerator_value / denominator_value else 0.0 end
            when total_cast = 'int' then trunc(numerator_value)
            else numerator_value
        end as double) as metric_total
    from components
),

current_ranges as (
    select * from valued where which = 'current'
),

previous_ranges as (
    select * from valued where which = 'previous'
)

select
    current_ranges.connection_name,
    current_ranges.scope,
    current_ranges.organization_id,
    current_ranges.period,
    current_ranges.period_order,
    current_ranges.range_start as start_date,
    current_ranges.range_end as end_date,
    previous_ranges.window_start as previous_start_date,
    previous_ranges.window_end as previous_end_date,
    current_ranges.metric,
    current_ranges.metric_type,
    current_ranges.unit,
    current_ranges.time_aggregation as aggregation,
    current_ranges.org_aggregation,
    current_ranges.metric_total as value,
    case when previous_ranges.is_complete then previous_ranges.metric_total end as previous_value,
    case when previous_ranges.is_complete
        then current_ranges.metric_total - previous_ranges.metric_total
    end as change,
    case when previous_ranges.is_complete and previous_ranges.metric_total <> 0
        then (current_ranges.metric_total - previous_ranges.metric_total)
            / abs(previous_ranges.metric_total)
    end as change_ratio,
    current_ranges.is_complete,
    current_ranges.includes_today as is_partial,
    current_ranges.presentment_currency,
    current_ranges.currency_mismatch,
    current_ranges.fetched_at
from current_ranges
inner join previous_ranges
    on previous_ranges.connection_name = current_ranges.connection_name
    and previous_ranges.period = current_ranges.period
    and previous_ranges.scope = current_ranges.scope
    and previous_ranges.metric = current_ranges.metric
{% endmacro %}


{#- The on-run-end hook creating `marts.polar_summary(start_date, end_date)` (macros/_macros.yml).
    Schema-qualified names, not ref(): the serving copy re-creates the macro in another
    database, where only `marts.x` resolves. -#}
{% macro polar_create_summary_macro() %}
{%- set long_relation = adapter.get_relation(
        database=target.database, schema='marts', identifier='polar_metrics_daily_long') -%}
{%- if execute and long_relation is not none -%}
create or replace macro marts.polar_summary(start_date, end_date) as table
{{ polar_summary_sql(
    ranges="(select connection_name, 'custom' as period, 1 as period_order, "
        ~ "cast(start_date as date) as range_start, cast(end_date as date) as range_end "
        ~ "from marts.polar_currency_check)",
    connections="(select connection_name, coalesce(max(\"date\") filter (where is_partial_day), "
        ~ "max(\"date\")) as reporting_date from marts.polar_metrics_daily_all group by all)",
    organizations="marts.polar_organizations",
    currency_check="marts.polar_currency_check",
    daily_long="marts.polar_metrics_daily_long",
    catalogue="marts.polar_metric_catalogue",
) }}
{%- else -%}
select 1
{%- endif -%}
{% endmacro %}
