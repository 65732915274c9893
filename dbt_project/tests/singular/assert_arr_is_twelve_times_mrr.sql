-- Shown in Dagster as an asset check of marts/polar_metrics_daily_all.
{{ config(meta={'dagster': {'ref': {'name': 'polar_metrics_daily_all'}}}) }}
-- ARR = 12 x MRR (and committed ARR = 12 x committed MRR) on every organization day and rollup day.
select 'organization' as scope, connection_name, organization_id, "date"
from {{ ref('polar_metrics_daily') }}
where annual_recurring_revenue <> 12 * monthly_recurring_revenue
   or committed_annual_recurring_revenue <> 12 * committed_monthly_recurring_revenue
union all
select 'all', connection_name, null, "date"
from {{ ref('polar_metrics_daily_all') }}
where annual_recurring_revenue <> 12 * monthly_recurring_revenue
   or committed_annual_recurring_revenue <> 12 * committed_monthly_recurring_revenue
