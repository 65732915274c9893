-- Shown in Dagster as an ERROR asset check of marts/polar_mrr_movements.
-- For every organization and day: opening + new + expansion + contraction + churn +
-- reactivation + fx_impact = closing, the opening is the previous day's closing (0 on the first
-- day), no day is missing, and closing customers follow the same bridge. One row per broken
-- day with the numbers; kept in audit.assert_mrr_bridge_is_exact.
{{ config(severity='error', store_failures=true, schema='audit') }}
with ordered as (
    select
        *,
        lag(closing_mrr) over by_day as previous_closing_mrr,
        lag(closing_customers) over by_day as previous_closing_customers,
        lag("date") over by_day as previous_date,
        opening_mrr + {{ polar_net_new_mrr() }} + fx_impact_mrr as bridged_closing_mrr,
        opening_customers + new_customers + reactivated_customers - churned_customers
            as bridged_closing_customers
    from {{ ref('polar_mrr_movements') }}
    window by_day as (partition by connection_name, organization_id order by "date")
)

select
    connection_name,
    organization_id,
    "date",
    opening_mrr,
    bridged_closing_mrr,
    closing_mrr,
    previous_closing_mrr,
    'organization ' || organization_id || ' on ' || strftime("date", '%Y-%m-%d') || ': '
        || case
            when bridged_closing_mrr <> closing_mrr then
                'opening ' || opening_mrr || ' + movements = ' || bridged_closing_mrr
                || ', closing ' || closing_mrr
            when opening_mrr <> coalesce(previous_closing_mrr, 0) then
                'opening ' || opening_mrr || ' but the previous closing was '
                || coalesce(previous_closing_mrr, 0)
            when previous_date is not null and "date" <> previous_date + 1 then
                'days missing after ' || strftime(previous_date, '%Y-%m-%d')
            else
                'customers: opening ' || opening_customers || ' + new + reactivated - churned = '
                || bridged_closing_customers || ', closing ' || closing_customers
        end as failure
from ordered
where bridged_closing_mrr <> closing_mrr
    or opening_mrr <> coalesce(previous_closing_mrr, 0)
    or (previous_date is not null and "date" <> previous_date + 1)
    or bridged_closing_customers <> closing_customers
    or opening_customers <> coalesce(previous_closing_customers, 0)
