select
    connection_name,
    environment,
    -- The token store's word for a disconnected grant is `inactive`; people read `disconnected`.
    case status when 'inactive' then 'disconnected' else status end as connection_status,
    updated_at
from {{ source('polar', 'polar_connections') }}
