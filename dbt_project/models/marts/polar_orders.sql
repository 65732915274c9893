-- One row per connection x order: every synced order of every active organization, amounts in
-- minor units of the order's own currency, created_date in the reporting timezone.
select
    orders.connection_name,
    orders.organization_id,
    orders.order_id,
    orders.created_at,
    {{ polar_local_date('orders.created_at', 'connections.reporting_timezone') }} as created_date,
    orders.modified_at,
    orders.status,
    orders.is_paid,
    orders.billing_reason,
    orders.currency,
    orders.subtotal_amount,
    orders.discount_amount,
    orders.net_amount,
    orders.tax_amount,
    orders.total_amount,
    orders.refunded_amount,
    orders.refunded_tax_amount,
    orders.platform_fee_amount,
    orders.platform_fee_currency,
    orders.customer_id,
    orders.product_id,
    orders.subscription_id,
    orders.discount_id,
    orders.checkout_id,
    orders.billing_country,
    orders.fetched_at
from {{ ref('stg_polar__orders') }} as orders
left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
