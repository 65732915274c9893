-- One row per connection x organization x customer x calendar month in which the customer pays
-- at the month's start or at its end: its MRR at the start (the closing of the previous day)
-- and at the end (the closing of the month's last day; the reporting date in the running
-- month). Read from the customer's change days as intervals, never a daily spine.
with intervals as (
    select
        connection_name,
        organization_id,
        customer_key,
        change_date as valid_from,
        lead(change_date) over (
            partition by connection_name, organization_id, customer_key order by change_date
        ) as valid_to,
        mrr_after as mrr
    from {{ ref('int_polar__customer_mrr_changes') }}
),

months as (
    select
        monthly.connection_name,
        monthly.organization_id,
        monthly.month,
        -- The day whose closing the month ends on.
        least(
            cast(monthly.month + interval 1 month - interval 1 day as date),
            coalesce(connections.reporting_date, date '9999-12-31')
        ) as last_day
    from {{ ref('polar_mrr_movements_monthly') }} as monthly
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
),

at_start as (
    select months.connection_name, months.organization_id, months.month, intervals.customer_key,
        intervals.mrr as mrr_at_start
    from months
    inner join intervals
        on intervals.connection_name = months.connection_name
        and intervals.organization_id = months.organization_id
        and intervals.valid_from < months.month
        and (intervals.valid_to is null or intervals.valid_to >= months.month)
    where intervals.mrr > 0
),

at_end as (
    select months.connection_name, months.organization_id, months.month, intervals.customer_key,
        intervals.mrr as mrr_at_end
    from months
    inner join intervals
        on intervals.connection_name = months.connection_name
        and intervals.organization_id = months.organization_id
        and intervals.valid_from <= months.last_day
        and (intervals.valid_to is null or intervals.valid_to > months.last_day)
    where intervals.mrr > 0
)

select
    connection_name,
    organization_id,
    month,
    customer_key,
    coalesce(at_start.mrr_at_start, 0) as mrr_at_start,
    coalesce(at_end.mrr_at_end, 0) as mrr_at_end
from at_start
full outer join at_end using (connection_name, organization_id, month, customer_key)
