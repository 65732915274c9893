select
    connection_name,
    organization_id,
    name as organization_name,
    slug as organization_slug,
    status as organization_status,
    lower(default_presentment_currency) as presentment_currency,
    created_at,
    coalesce(is_queried, false) as is_queried,
    discovered_at
from {{ source('polar', 'polar_organizations') }}
