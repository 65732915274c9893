-- Trials per organization (and `all`) and week / month of their start, each in one outcome (docs:
-- _polar__analytics_marts.yml). Conversion is read from the orders: the subscription's first paid order
-- with money (the trial's checkout order is 0). A trial that ended without one and was not
-- canceled is a failed first payment: a missed conversion (not churn).
with trials as (
    select
        subscriptions.connection_name,
        subscriptions.organization_id,
        subscriptions.subscription_id,
        {{ polar_local_date('subscriptions.trial_start', 'connections.reporting_timezone') }}
            as trial_start_date,
        subscriptions.trial_end,
        -- A trial ending on the reporting date is not decided yet (its payment may follow).
        {{ polar_local_date('subscriptions.trial_end', 'connections.reporting_timezone') }}
            >= connections.reporting_date as is_still_trialing,
        coalesce(subscriptions.ended_at, subscriptions.ends_at) <= subscriptions.trial_end
            or subscriptions.canceled_at < subscriptions.trial_end as canceled_in_trial
    from {{ ref('polar_subscriptions') }} as subscriptions
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    where subscriptions.trial_start is not null
),

first_payments as (
    select
        trials.subscription_id,
        trials.connection_name,
        min(orders.created_date) as first_paid_date
    from trials
    inner join {{ ref('polar_orders') }} as orders
        on orders.connection_name = trials.connection_name
        and orders.subscription_id = trials.subscription_id
        and orders.is_paid
        -- The checkout of a trial is a 0 order: the first one with money is the conversion.
        and orders.net_amount > 0
    group by all
),

outcomes as (
    select
        trials.*,
        first_payments.first_paid_date,
        case
            when first_payments.first_paid_date is not null then 'converted'
            when coalesce(trials.canceled_in_trial, false) then 'canceled_during_trial'
            when coalesce(trials.is_still_trialing, true) then 'still_trialing'
            else 'payment_failed'
        end as outcome
    from trials
    left join first_payments using (connection_name, subscription_id)
),

periods as (
    select *, 'week' as period, cast(date_trunc('week', trial_start_date) as date) as period_start
    from outcomes
    union all
    select *, 'month' as period, cast(date_trunc('month', trial_start_date) as date) as period_start
    from outcomes
)

select
    connection_name,
    -- `all`: every organization's trials together (rates and the median over all of them).
    case when grouping(organization_id) = 1 then 'all' else organization_id end as organization_id,
    period,
    period_start,
    count(*) as trials_started,
    count(*) filter (where outcome = 'converted') as converted,
    count(*) filter (where outcome = 'canceled_during_trial') as canceled_during_trial,
    count(*) filter (where outcome = 'payment_failed') as payment_failed,
    count(*) filter (where outcome = 'still_trialing') as still_trialing,
    cast(count(*) filter (where outcome = 'converted')
        / nullif(count(*) filter (where outcome <> 'still_trialing'), 0) as double)
        as conversion_rate,
    cast(median(datediff('day', trial_start_date, first_paid_date))
        filter (where outcome = 'converted') as double) as median_days_to_convert
from periods
group by grouping sets (
    (connection_name, organization_id, period, period_start),
    (connection_name, period, period_start)
)
