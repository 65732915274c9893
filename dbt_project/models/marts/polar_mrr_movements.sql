-- The MRR bridge per organization and local day (docs: _polar__analytics_marts.yml). Built from
-- the customers' change days only (int_polar__customer_mrr_changes), then laid on one row per
-- organization day up to the reporting date: running sums give the closing values, so
-- opening + movements = closing and closing = the next day's opening by construction (and
-- by the singular test assert_mrr_bridge_is_exact).
with changes as (
    select * from {{ ref('int_polar__customer_mrr_changes') }}
),

by_day as (
    select
        connection_name,
        organization_id,
        change_date as "date",
        sum(movement_mrr) filter (where movement = 'new') as new_mrr,
        sum(movement_mrr) filter (where movement = 'expansion') as expansion_mrr,
        sum(movement_mrr) filter (where movement = 'contraction') as contraction_mrr,
        sum(movement_mrr) filter (where movement = 'churn') as churn_mrr,
        sum(movement_mrr) filter (where movement = 'reactivation') as reactivation_mrr,
        sum(fx_impact) as fx_impact_mrr,
        sum(mrr_after - mrr_before) as mrr_change,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'expansion') as expansion_customers,
        count(*) filter (where movement = 'contraction') as contraction_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers,
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
        coalesce(by_day.new_mrr, 0) as new_mrr,
        coalesce(by_day.expansion_mrr, 0) as expansion_mrr,
        coalesce(by_day.contraction_mrr, 0) as contraction_mrr,
        coalesce(by_day.churn_mrr, 0) as churn_mrr,
        coalesce(by_day.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(by_day.fx_impact_mrr, 0) as fx_impact_mrr,
        coalesce(by_day.new_customers, 0) as new_customers,
        coalesce(by_day.expansion_customers, 0) as expansion_customers,
        coalesce(by_day.contraction_customers, 0) as contraction_customers,
        coalesce(by_day.churned_customers, 0) as churned_customers,
        coalesce(by_day.reactivated_customers, 0) as reactivated_customers,
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
    cast(new_mrr as bigint) as new_mrr,
    cast(expansion_mrr as bigint) as expansion_mrr,
    cast(contraction_mrr as bigint) as contraction_mrr,
    cast(churn_mrr as bigint) as churn_mrr,
    cast(reactivation_mrr as bigint) as reactivation_mrr,
    cast(fx_impact_mrr as bigint) as fx_impact_mrr,
    cast(closing_mrr as bigint) as closing_mrr,
    cast(new_mrr + expansion_mrr + contraction_mrr + churn_mrr + reactivation_mrr as bigint)
        as net_new_mrr,
    cast(closing_customers - customers_change as bigint) as opening_customers,
    cast(new_customers as bigint) as new_customers,
    cast(expansion_customers as bigint) as expansion_customers,
    cast(contraction_customers as bigint) as contraction_customers,
    cast(churned_customers as bigint) as churned_customers,
    cast(reactivated_customers as bigint) as reactivated_customers,
    cast(closing_customers as bigint) as closing_customers,
    cast(active_subscriptions as bigint) as active_subscriptions,
    unrated.currencies_without_rate
from running
left join unrated using (connection_name, organization_id)
