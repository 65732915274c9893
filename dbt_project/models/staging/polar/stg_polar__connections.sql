select
    connection_name,
    environment,
    status as connection_status,
    updated_at
from {{ source('polar', 'polar_connections') }}
