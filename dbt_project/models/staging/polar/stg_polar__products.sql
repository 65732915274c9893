-- Products as synced; the price columns are the first price's (what most products have).
select
    connection_name,
    organization_id,
    id as product_id,
    created_at,
    modified_at,
    name as product_name,
    visibility,
    is_recurring,
    coalesce(is_archived, false) as is_archived,
    recurring_interval,
    recurring_interval_count,
    trial_interval,
    trial_interval_count,
    price_amount_type,
    price_amount,
    lower(price_currency) as price_currency,
    missing_since,
    fetched_at
from {{ source('polar', 'polar_products') }}
