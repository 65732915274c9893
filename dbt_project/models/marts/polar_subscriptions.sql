-- One row per connection x subscription: every synced subscription, its current state as Polar
-- reports it, amount in minor units of its own currency, dates in the reporting timezone.
select
    subscriptions.connection_name,
    subscriptions.organization_id,
    subscriptions.subscription_id,
    subscriptions.created_at,
    subscriptions.modified_at,
    subscriptions.status,
    subscriptions.amount,
    subscriptions.currency,
    subscriptions.recurring_interval,
    subscriptions.recurring_interval_count,
    subscriptions.started_at,
    {{ polar_local_date('subscriptions.started_at', 'connections.reporting_timezone') }}
        as started_date,
    subscriptions.current_period_start,
    subscriptions.current_period_end,
    subscriptions.trial_start,
    subscriptions.trial_end,
    subscriptions.cancel_at_period_end,
    subscriptions.canceled_at,
    subscriptions.ends_at,
    subscriptions.ended_at,
    {{ polar_local_date(
        'coalesce(subscriptions.ended_at, subscriptions.ends_at)', 'connections.reporting_timezone'
    ) }} as end_date,
    subscriptions.customer_cancellation_reason,
    subscriptions.customer_id,
    subscriptions.product_id,
    subscriptions.discount_id,
    subscriptions.checkout_id,
    subscriptions.seats,
    subscriptions.fetched_at
from {{ ref('stg_polar__subscriptions') }} as subscriptions
left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
