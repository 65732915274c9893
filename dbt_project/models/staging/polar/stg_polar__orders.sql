-- Orders as synced; amounts in minor units of the order's own currency.
select
    connection_name,
    organization_id,
    id as order_id,
    created_at,
    modified_at,
    status,
    -- `paid` is in Polar's schema; the status says the same when an item lacks it.
    coalesce(paid, status in ('paid', 'refunded', 'partially_refunded')) as is_paid,
    billing_reason,
    lower(currency) as currency,
    subtotal_amount,
    discount_amount,
    net_amount,
    tax_amount,
    total_amount,
    coalesce(refunded_amount, 0) as refunded_amount,
    coalesce(refunded_tax_amount, 0) as refunded_tax_amount,
    platform_fee_amount,
    -- Not a typed column of the raw table: read from the stored item.
    lower(json_extract_string(item, '$.platform_fee_currency')) as platform_fee_currency,
    customer_id,
    product_id,
    subscription_id,
    discount_id,
    checkout_id,
    upper(billing_country) as billing_country,
    fetched_at
from {{ source('polar', 'polar_orders') }}
