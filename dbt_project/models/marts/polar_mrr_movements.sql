-- The MRR bridge per organization and local day (docs: _polar__analytics_marts.yml). Built from
-- the customers' change days only (int_polar__customer_mrr_changes), then laid on one row per
-- organization day up to the reporting date: running sums give the closing values, so
-- opening + movements = closing and closing = the next day's opening by construction (and
-- by the singular test assert_mrr_bridge_is_exact). The movements: macro polar_mrr_movements.
with changes as (
    select * from {{ ref('int_polar__customer_mrr_changes') }}
),

by_day as (
    select
        connection_name,
        organization_id,
        change_date as "date",
        {%- for m in polar_mrr_movements() %}
        sum(movement_mrr) filter (where movement = '{{ m.movement }}') as {{ m.movement }}_mrr,
        count(*) filter (where movement = '{{ m.movement }}') as {{ m.customers }},
        {%- endfor %}
        sum(fx_impact) as fx_impact_mrr,
        sum(mrr_after - mrr_before) as mrr_change,
        sum((mrr_after > 0)::int - (mrr_before > 0)::int) as customers_change,
        sum(subscriptions_after - subscriptions_before) as subscriptions_change
    from changes
    group by all
),

organizations as (
    select
        changes.connection_name,
        changes.organization_id,
        min(changes.change_date) as first_date,
        coalesce(max(connections.reporting_date), max(changes.change_date)) as last_date
    from changes
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    group by all
),

days as (
    select
        organizations.connection_name,
        organizations.organization_id,
        cast(spine.day as date) as "date"
    from organizations,
        lateral (select unnest(generate_series(
            organizations.first_date, organizations.last_date, interval 1 day
        )) as day) as spine
),

unrated as (
    select
        connection_name,
        organization_id,
        string_agg(distinct currency, ', ' order by currency) as currencies_without_rate
    from {{ ref('polar_subscription_mrr') }}
    where mrr is null
    group by all
),

running as (
    select
        days.connection_name,
        days.organization_id,
        days."date",
        {%- for m in polar_mrr_movements() %}
        coalesce(by_day.{{ m.movement }}_mrr, 0) as {{ m.movement }}_mrr,
        coalesce(by_day.{{ m.customers }}, 0) as {{ m.customers }},
        {%- endfor %}
        coalesce(by_day.fx_impact_mrr, 0) as fx_impact_mrr,
        coalesce(by_day.mrr_change, 0) as mrr_change,
        coalesce(by_day.customers_change, 0) as customers_change,
        sum(coalesce(by_day.mrr_change, 0)) over running_total as closing_mrr,
        sum(coalesce(by_day.customers_change, 0)) over running_total as closing_customers,
        sum(coalesce(by_day.subscriptions_change, 0)) over running_total as active_subscriptions
    from days
    left join by_day using (connection_name, organization_id, "date")
    window running_total as (
        partition by days.connection_name, days.organization_id order by days."date"
        rows between unbounded preceding and current row
    )
)

select
    running.connection_name,
    running.organization_id,
    running."date",
    cast(closing_mrr - mrr_change as bigint) as opening_mrr,
    {%- for m in polar_mrr_movements() %}
    cast({{ m.movement }}_mrr as bigint) as {{ m.movement }}_mrr,
    {%- endfor %}
    cast(fx_impact_mrr as bigint) as fx_impact_mrr,
    cast(closing_mrr as bigint) as closing_mrr,
    cast({{ polar_net_new_mrr() }} as bigint) as net_new_mrr,
    cast(closing_customers - customers_change as bigint) as opening_customers,
    {%- for m in polar_mrr_movements() %}
    cast({{ m.customers }} as bigint) as {{ m.customers }},
    {%- endfor %}
    cast(closing_customers as bigint) as closing_customers,
    cast(active_subscriptions as bigint) as active_subscriptions,
    unrated.currencies_without_rate
from running
left join unrated using (connection_name, organization_id)
