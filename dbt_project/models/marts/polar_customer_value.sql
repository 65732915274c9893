-- One row per customer with a subscription or an order (docs: _polar__analytics_marts.yml).
-- Orders convert at the rate valid on their local day; MRR and active subscriptions are read
-- from polar_subscription_mrr on the reporting date. Email and name as stored in
-- polar_customers (the PII setting applies at sync time).
with orders as (
    select
        orders.connection_name,
        orders.organization_id,
        orders.customer_id,
        min(orders.created_at) as first_paid_order_at,
        max(orders.created_at) as last_paid_order_at,
        count(*) as paid_orders,
        sum({{ polar_usd_cents('orders.net_amount', 'rates.usd_per_unit') }}) as lifetime_revenue,
        sum({{ polar_usd_cents('coalesce(orders.refunded_amount, 0)', 'rates.usd_per_unit') }})
            as refunded,
        string_agg(distinct orders.currency, ', ' order by orders.currency)
            filter (where rates.usd_per_unit is null) as currencies_without_rate
    from {{ ref('polar_orders') }} as orders
    left join {{ ref('int_polar__fx_rates_dated') }} as rates
        on rates.currency = orders.currency
        and (rates.valid_from is null or rates.valid_from <= orders.created_date)
        and (rates.valid_to is null or rates.valid_to > orders.created_date)
    where orders.is_paid and orders.customer_id is not null
    group by all
),

current_mrr as (
    select
        segments.connection_name,
        segments.organization_id,
        segments.customer_id,
        sum(coalesce(segments.mrr, 0)) as current_mrr,
        count(*) as active_subscriptions,
        string_agg(distinct segments.currency, ', ' order by segments.currency)
            filter (where segments.mrr is null) as currencies_without_rate
    from {{ ref('polar_subscription_mrr') }} as segments
    inner join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    where segments.customer_id is not null
        and (segments.valid_from is null or segments.valid_from <= connections.reporting_date)
        and (segments.valid_to is null or segments.valid_to > connections.reporting_date)
    group by all
),

customers as (
    select connection_name, organization_id, customer_id from orders
    union
    select connection_name, organization_id, customer_id from current_mrr
    union
    select connection_name, organization_id, customer_id
    from {{ ref('polar_subscriptions') }}
    where customer_id is not null
)

select
    customers.connection_name,
    customers.organization_id,
    customers.customer_id,
    stored.email,
    stored.customer_name,
    orders.first_paid_order_at,
    orders.last_paid_order_at,
    cast(coalesce(orders.paid_orders, 0) as bigint) as paid_orders,
    cast(coalesce(orders.lifetime_revenue, 0) as bigint) as lifetime_revenue,
    cast(coalesce(orders.refunded, 0) as bigint) as refunded,
    cast(coalesce(orders.lifetime_revenue, 0) - coalesce(orders.refunded, 0) as bigint)
        as lifetime_net_revenue,
    cast(coalesce(current_mrr.current_mrr, 0) as bigint) as current_mrr,
    cast(coalesce(current_mrr.active_subscriptions, 0) as bigint) as active_subscriptions,
    nullif(concat_ws(', ', orders.currencies_without_rate, current_mrr.currencies_without_rate), '')
        as currencies_without_rate
from customers
left join orders using (connection_name, organization_id, customer_id)
left join current_mrr using (connection_name, organization_id, customer_id)
left join {{ ref('polar_customers') }} as stored
    on stored.connection_name = customers.connection_name
    and stored.customer_id = customers.customer_id
