-- Refunds as synced; amounts in minor units of the refund's currency (the order's).
select
    connection_name,
    organization_id,
    id as refund_id,
    created_at,
    modified_at,
    status,
    reason,
    amount,
    tax_amount,
    lower(currency) as currency,
    order_id,
    subscription_id,
    customer_id,
    revoke_benefits,
    fetched_at
from {{ source('polar', 'polar_refunds') }}
