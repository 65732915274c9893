-- One row per connection x product: every synced product, archived ones and ones deleted at
-- Polar kept and flagged; the price columns are the first price's.
select
    connection_name,
    organization_id,
    product_id,
    created_at,
    modified_at,
    product_name,
    visibility,
    is_recurring,
    is_archived,
    missing_since is not null as is_deleted,
    missing_since,
    recurring_interval,
    recurring_interval_count,
    trial_interval,
    trial_interval_count,
    price_amount_type,
    price_amount,
    price_currency,
    fetched_at
from {{ ref('stg_polar__products') }}
