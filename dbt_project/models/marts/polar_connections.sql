-- One row per connection: its state, when its data was last refreshed, and, once it is
-- disconnected, the last day its data covers (nothing newer will arrive).
select
    dated.connection_name,
    connections.environment,
    coalesce(connections.connection_status, 'active') as connection_status,
    connections.updated_at as status_changed_at,
    dated.latest_refresh_finished_at as last_refreshed_at,
    dated.reporting_timezone,
    dated.reporting_date,
    case
        when connections.connection_status = 'disconnected' then dated.reporting_date
    end as data_stopped_on
from {{ ref('int_polar__connections_dated') }} as dated
left join {{ ref('stg_polar__connections') }} as connections using (connection_name)
