-- Every organization the connection can see, with status, currency and whether it is queried.
select
    connection_name,
    organization_id,
    organization_name,
    organization_slug,
    organization_status,
    presentment_currency,
    is_queried,
    created_at,
    discovered_at
from {{ ref('stg_polar__organizations') }}
