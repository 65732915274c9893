-- Polar's `active_subscriptions` and `monthly_recurring_revenue` read from
-- marts.polar_subscription_mrr (THE place subscription MRR is computed, by Polar's rules:
-- polar-api.md §3.7) for every organization day the reconciliation compares: the segments
-- covering the local day (valid_from null or on or before it, valid_to null or after it). A
-- subscription has one segment per day, so counting segments counts subscriptions. MRR sums
-- mrr_at_current_amount: Polar values every day, past ones too, at the subscription's current
-- amount (an upgrade restates the past at Polar), where the movements keep each day's own.
with days as (
    select distinct connection_name, organization_id, metric_date
    from {{ ref('int_polar__reconciliation_days_selected') }}
    where entity = 'subscriptions'
)

select
    days.connection_name,
    days.organization_id,
    days.metric_date,
    count(segments.subscription_id) as active_subscriptions,
    cast(coalesce(sum(segments.mrr_at_current_amount), 0) as bigint) as monthly_recurring_revenue,
    string_agg(distinct segments.currency, ', ' order by segments.currency)
        filter (where segments.mrr_at_current_amount is null) as currencies_without_rate
from days
left join {{ ref('polar_subscription_mrr') }} as segments
    on segments.connection_name = days.connection_name
    and segments.organization_id = days.organization_id
    and (segments.valid_from is null or segments.valid_from <= days.metric_date)
    and (segments.valid_to is null or segments.valid_to > days.metric_date)
group by all
