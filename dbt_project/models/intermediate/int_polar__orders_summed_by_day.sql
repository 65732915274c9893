-- Polar's `revenue` and `net_revenue` rebuilt from the orders, per organization and LOCAL day
-- of the order's created_at in the reporting timezone (Polar buckets both by it, refund
-- adjustments included). Only paid orders count (paid, refunded, partially refunded). Each
-- order is converted to USD cents on its own, rounded half up, at the seed polar_fx_rates'
-- rate valid on the order's local day.
with orders as (
    select
        orders.connection_name,
        orders.organization_id,
        {{ polar_local_date('orders.created_at', 'connections.reporting_timezone') }}
            as order_date,
        orders.currency,
        orders.net_amount,
        orders.refunded_amount,
        coalesce(orders.platform_fee_amount, 0) as platform_fee_amount,
        -- Polar takes its fee in the settlement currency.
        coalesce(orders.platform_fee_currency, 'usd') as platform_fee_currency
    from {{ ref('stg_polar__orders') }} as orders
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
    where orders.is_paid
),

converted as (
    select
        orders.connection_name,
        orders.organization_id,
        orders.order_date,
        orders.currency,
        order_rates.usd_per_unit is null or fee_rates.usd_per_unit is null as lacks_rate,
        {{ polar_usd_cents('orders.net_amount', 'order_rates.usd_per_unit') }} as amount_usd,
        {{ polar_usd_cents('orders.platform_fee_amount', 'fee_rates.usd_per_unit') }} as fee_usd,
        {{ polar_usd_cents('orders.refunded_amount', 'order_rates.usd_per_unit') }} as refunded_usd
    from orders
    left join {{ ref('int_polar__fx_rates_dated') }} as order_rates
        on order_rates.currency = orders.currency
        and coalesce(order_rates.valid_from <= orders.order_date, true)
        and coalesce(order_rates.valid_to > orders.order_date, true)
    left join {{ ref('int_polar__fx_rates_dated') }} as fee_rates
        on fee_rates.currency = orders.platform_fee_currency
        and coalesce(fee_rates.valid_from <= orders.order_date, true)
        and coalesce(fee_rates.valid_to > orders.order_date, true)
),

netted as (
    select
        *,
        -- After the fee, less the refunded share of it: a full refund nets the order to 0.
        (amount_usd - fee_usd) - {{ polar_divide_half_up(
            '(amount_usd - fee_usd) * refunded_usd', 'greatest(amount_usd, 1)'
        ) }} as net_revenue_usd
    from converted
)

select
    connection_name,
    organization_id,
    order_date,
    count(*) as paid_orders,
    cast(sum(amount_usd) as bigint) as revenue,
    cast(sum(net_revenue_usd) as bigint) as net_revenue,
    string_agg(distinct currency, ', ' order by currency) filter (where lacks_rate)
        as currencies_without_rate
from netted
group by all
