select
    refresh_id,
    connection_name,
    started_at,
    finished_at,
    timezone as reporting_timezone,
    window_start,
    window_end,
    status as refresh_status,
    organizations_ok,
    organizations_failed
from {{ source('polar', 'polar_refreshes') }}
