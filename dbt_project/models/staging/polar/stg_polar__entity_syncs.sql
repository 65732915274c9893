-- How each organization's entity sync last ended; `resume` is set while a sync is unfinished.
select
    connection_name,
    organization_id,
    entity,
    cursor_at,
    last_full_sweep_at,
    resume is not null as is_unfinished,
    last_synced_at,
    last_status as sync_status,
    last_error,
    last_mode as sync_mode,
    rows_last_sync,
    requests_last_sync
from {{ source('polar', 'polar_entity_sync') }}
