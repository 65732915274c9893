-- One row per connection x organization x customer x local day on which the customer's MRR or
-- subscription count changes (a segment of polar_subscription_mrr starts or ends), with the
-- customer's MRR before and after, and the movement it is: new (first time paying),
-- reactivation (paying again), churn (to 0), expansion or contraction (between two positive
-- values). The part due to exchange rates alone is fx_impact, never a movement, so
-- mrr_after - mrr_before = movement_mrr + fx_impact exactly. A subscription without a customer
-- is a customer of its own. Segments without a started_at (valid_from null) start on the
-- organization's first day (first_date), as Polar counts them on every day.
with segments as (
    select
        *,
        coalesce(customer_id, 'subscription ' || subscription_id) as customer_key,
        -- The subscription's last segment ends the subscription.
        lead(valid_from) over (
            partition by connection_name, subscription_id order by valid_from nulls first
        ) is null as is_last_segment
    from {{ ref('polar_subscription_mrr') }}
),

first_days as (
    select
        connection_name,
        organization_id,
        coalesce(min(valid_from), max(connections.reporting_date)) as first_date
    from segments
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    group by all
),

steps as (
    select
        segments.connection_name,
        segments.organization_id,
        segments.customer_key,
        coalesce(segments.valid_from, first_days.first_date) as change_date,
        coalesce(segments.mrr, 0) as mrr_delta,
        segments.fx_impact,
        case when segments.segment_start_reason = 'start' then 1 else 0 end as subscriptions_delta
    from segments
    inner join first_days using (connection_name, organization_id)
    union all
    select
        connection_name,
        organization_id,
        customer_key,
        valid_to as change_date,
        -coalesce(mrr, 0) as mrr_delta,
        0 as fx_impact,
        case when is_last_segment then -1 else 0 end as subscriptions_delta
    from segments
    where valid_to is not null
),

daily as (
    select
        connection_name,
        organization_id,
        customer_key,
        change_date,
        sum(mrr_delta) as mrr_delta,
        sum(fx_impact) as fx_impact,
        sum(subscriptions_delta) as subscriptions_delta
    from steps
    group by all
),

running as (
    select
        *,
        sum(mrr_delta) over by_day as mrr_after,
        sum(subscriptions_delta) over by_day as subscriptions_after
    from daily
    window by_day as (
        partition by connection_name, organization_id, customer_key order by change_date
        rows between unbounded preceding and current row
    )
),

classified as (
    select
        *,
        mrr_after - mrr_delta as mrr_before,
        -- Did the customer pay on any earlier day? (new vs reactivation)
        coalesce(bool_or(mrr_after > 0) over (
            partition by connection_name, organization_id, customer_key order by change_date
            rows between unbounded preceding and 1 preceding
        ), false) as paid_before
    from running
)

select
    connection_name,
    organization_id,
    customer_key,
    change_date,
    cast(mrr_before as bigint) as mrr_before,
    cast(mrr_after as bigint) as mrr_after,
    case
        when mrr_before = 0 and mrr_after > 0 then case when paid_before then 'reactivation' else 'new' end
        when mrr_before > 0 and mrr_after = 0 then 'churn'
        when mrr_before > 0 and mrr_after > 0 and mrr_delta - fx_impact > 0 then 'expansion'
        when mrr_before > 0 and mrr_after > 0 and mrr_delta - fx_impact < 0 then 'contraction'
    end as movement,
    cast(mrr_delta - fx_impact as bigint) as movement_mrr,
    cast(fx_impact as bigint) as fx_impact,
    cast(subscriptions_after - subscriptions_delta as bigint) as subscriptions_before,
    cast(subscriptions_after as bigint) as subscriptions_after
from classified
