-- Shown in Dagster as an asset check of marts/polar_metrics_daily.
{{ config(meta={'dagster': {'ref': {'name': 'polar_metrics_daily'}}}) }}
-- depends_on: {{ ref('polar_metrics_daily') }}, {{ ref('polar_metrics_daily_all') }}
-- The generated metric columns of the daily marts match the catalogue seed exactly
-- (regenerate with `python -m orchestration.dbt_codegen` after editing the catalogue).
with expected as (
    select mart, slug
    from {{ ref('polar_metric_catalogue') }}
    cross join (values ('polar_metrics_daily'), ('polar_metrics_daily_all')) as marts (mart)
),

actual as (
    select table_name as mart, column_name as slug
    from information_schema.columns
    where table_schema = 'marts'
      and table_name in ('polar_metrics_daily', 'polar_metrics_daily_all')
      and column_name not in (
          'connection_name', 'organization_id', 'organization_name', 'presentment_currency',
          'date', 'is_partial_day', 'fetched_at', 'organization_count', 'currencies',
          'currency_mismatch'
      )
)

select 'missing column' as problem, * from (select * from expected except select * from actual)
union all
select 'column not in the catalogue', * from (select * from actual except select * from expected)
