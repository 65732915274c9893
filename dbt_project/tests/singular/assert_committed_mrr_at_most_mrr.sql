-- Committed MRR is the MRR of subscriptions without a scheduled end: a part of MRR.
select connection_name, organization_id, "date"
from {{ ref('polar_metrics_daily') }}
where committed_monthly_recurring_revenue > monthly_recurring_revenue
