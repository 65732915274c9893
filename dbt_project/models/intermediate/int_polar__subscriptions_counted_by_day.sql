-- Polar's `active_subscriptions` and `monthly_recurring_revenue` rebuilt from the
-- subscriptions, for every organization day the reconciliation compares (polar-api.md §3.7):
--   active: started_at on or before the local day (or no started_at at all: Polar counts
--           those too) and coalesce(ended_at, ends_at) null or on a later local day; any status
--   MRR:    the active ones out of trial by the day's end (trial_end null or on or before the
--           local day), each converted to USD cents first, then monthly-normalized, each step
--           rounded half up (polar_usd_cents, polar_monthly_amount)
-- Polar reads every subscription's CURRENT row for every day, and so does this model.
with days as (
    select distinct connection_name, organization_id, metric_date
    from {{ ref('int_polar__reconciliation_days_selected') }}
    where entity = 'subscriptions'
),

subscriptions as (
    select
        subscriptions.connection_name,
        subscriptions.organization_id,
        subscriptions.subscription_id,
        subscriptions.currency,
        subscriptions.recurring_interval,
        subscriptions.recurring_interval_count,
        rates.usd_per_unit is null as lacks_rate,
        {{ polar_local_date('subscriptions.started_at', 'connections.reporting_timezone') }}
            as started_date,
        {{ polar_local_date(
            'coalesce(subscriptions.ended_at, subscriptions.ends_at)',
            'connections.reporting_timezone'
        ) }} as end_date,
        {{ polar_local_date('subscriptions.trial_end', 'connections.reporting_timezone') }}
            as trial_end_date,
        {{ polar_usd_cents('coalesce(subscriptions.amount, 0)', 'rates.usd_per_unit') }}
            as amount_usd
    from {{ ref('stg_polar__subscriptions') }} as subscriptions
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    left join {{ ref('polar_fx_rates') }} as rates on rates.currency = subscriptions.currency
),

normalized as (
    select
        *,
        {{ polar_monthly_amount('amount_usd', 'recurring_interval', 'recurring_interval_count') }}
            as monthly_usd
    from subscriptions
)

select
    days.connection_name,
    days.organization_id,
    days.metric_date,
    count(subscriptions.subscription_id) as active_subscriptions,
    cast(coalesce(sum(subscriptions.monthly_usd) filter (
        where subscriptions.trial_end_date is null
            or subscriptions.trial_end_date <= days.metric_date
    ), 0) as bigint) as monthly_recurring_revenue,
    string_agg(distinct subscriptions.currency, ', ' order by subscriptions.currency) filter (
        where subscriptions.lacks_rate
            and (subscriptions.trial_end_date is null
                or subscriptions.trial_end_date <= days.metric_date)
    ) as currencies_without_rate
from days
left join normalized as subscriptions
    on subscriptions.connection_name = days.connection_name
    and subscriptions.organization_id = days.organization_id
    and (subscriptions.started_date is null or subscriptions.started_date <= days.metric_date)
    and (subscriptions.end_date is null or subscriptions.end_date > days.metric_date)
group by all
