{{ config(materialized='view') }}
-- polar_mrr_movements per organization and calendar month (a view: a cheap roll-up).
select
    movements.connection_name,
    movements.organization_id,
    cast(date_trunc('month', movements."date") as date) as month,
    coalesce(max(movements."date") = max(connections.reporting_date), false) as is_partial_month,
    cast(arg_min(movements.opening_mrr, movements."date") as bigint) as opening_mrr,
    {%- for m in polar_mrr_movements() %}
    cast(sum(movements.{{ m.movement }}_mrr) as bigint) as {{ m.movement }}_mrr,
    {%- endfor %}
    cast(sum(movements.fx_impact_mrr) as bigint) as fx_impact_mrr,
    cast(arg_max(movements.closing_mrr, movements."date") as bigint) as closing_mrr,
    cast(sum(movements.net_new_mrr) as bigint) as net_new_mrr,
    cast(arg_min(movements.opening_customers, movements."date") as bigint) as opening_customers,
    {%- for m in polar_mrr_movements() %}
    cast(sum(movements.{{ m.customers }}) as bigint) as {{ m.customers }},
    {%- endfor %}
    cast(arg_max(movements.closing_customers, movements."date") as bigint) as closing_customers,
    cast(arg_max(movements.active_subscriptions, movements."date") as bigint)
        as active_subscriptions
from {{ ref('polar_mrr_movements') }} as movements
left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
group by all
