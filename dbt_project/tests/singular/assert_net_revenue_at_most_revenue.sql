-- Net revenue is revenue minus fees and refunds. A warning, not an error: a refund reversal or
-- dispute win can legitimately lift one day's net above its revenue.
{{ config(severity='warn') }}
select connection_name, organization_id, "date", revenue, net_revenue
from {{ ref('polar_metrics_daily') }}
where net_revenue > revenue
