select
    connection_name,
    organization_id,
    "date" as metric_date,
    metric_slug,
    previous_value,
    value as metric_value,
    previously_fetched_at,
    fetched_at
from {{ source('polar', 'polar_metric_revisions') }}
