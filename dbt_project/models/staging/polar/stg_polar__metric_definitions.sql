select
    connection_name,
    slug as metric_slug,
    display_name,
    type as metric_type,
    drift,
    first_seen_at,
    last_seen_at
from {{ source('polar', 'polar_metric_definitions') }}
