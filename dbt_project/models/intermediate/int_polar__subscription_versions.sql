-- One row per subscription and version of its MRR inputs (amount, currency, interval, seats;
-- and past_due when var polar_mrr_include_past_due is false), from the snapshot
-- polar_subscription_history plus the row the sync stored last (so a build that did not run
-- the snapshot, e.g. a selection, still ends on the current amount). A version starts at
-- Polar's modified_at of the first row showing it (the moment Polar last changed the row; the
-- time the build saw it when Polar gives none), never before the previous version; the first
-- version has no start: it counts from the subscription's start, as Polar values every day
-- at the current row. Docs: _intermediate__models.yml.
{%- set include_past_due = var('polar_mrr_include_past_due') %}
with seen as (
    select
        connection_name, subscription_id, amount, currency, recurring_interval,
        recurring_interval_count, seats, status, modified_at,
        cast(dbt_valid_from as timestamptz) as seen_at, false as is_current
    from {{ ref('polar_subscription_history') }}
    union all
    select
        connection_name, subscription_id, amount, currency, recurring_interval,
        recurring_interval_count, seats, status, modified_at, fetched_at as seen_at,
        true as is_current
    from {{ ref('polar_subscriptions') }}
),

compared as (
    select
        *,
        row(amount, currency, recurring_interval, recurring_interval_count, seats) as price,
        {%- if include_past_due %}
        false as is_past_due,
        {%- else %}
        coalesce(status = 'past_due', false) as is_past_due,
        {%- endif %}
        row_number() over by_seen as seen_number
    from seen
    window by_seen as (partition by connection_name, subscription_id order by is_current, seen_at)
),

changes as (
    select
        *,
        lag(price) over by_seen as previous_price,
        lag(is_past_due) over by_seen as previous_is_past_due
    from compared
    window by_seen as (partition by connection_name, subscription_id order by seen_number)
),

versions as (
    select
        *,
        -- Each version no earlier than the versions before it (clocks never run backwards).
        max(coalesce(modified_at, seen_at)) over (
            partition by connection_name, subscription_id order by seen_number
            rows between unbounded preceding and current row
        ) as changed_at
    from changes
    where seen_number = 1
        or price is distinct from previous_price
        or is_past_due <> previous_is_past_due
)

select
    connection_name,
    subscription_id,
    case when seen_number = 1 then null else changed_at end as valid_from_at,
    lead(changed_at) over (
        partition by connection_name, subscription_id order by seen_number
    ) as valid_to_at,
    case
        when seen_number = 1 then 'first'
        when price is distinct from previous_price then 'amount_change'
        else 'status_change'
    end as change_reason,
    amount,
    currency,
    recurring_interval,
    recurring_interval_count,
    seats,
    is_past_due
from versions
