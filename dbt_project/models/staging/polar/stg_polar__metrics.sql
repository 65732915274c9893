select
    connection_name,
    organization_id,
    organization_id = 'all' as is_polar_all_series,
    "date" as metric_date,
    metric_slug,
    value as metric_value,
    fetched_at
from {{ source('polar', 'polar_metrics') }}
