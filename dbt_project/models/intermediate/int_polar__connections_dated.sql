-- One row per connection with its reporting date ("today"): `window_end` of the latest refresh
-- that wrote data, so the marts never depend on the clock of the machine running dbt.
with connection_names as (
    select connection_name from {{ ref('stg_polar__connections') }}
    union
    select connection_name from {{ ref('stg_polar__organizations') }}
    union
    select connection_name from {{ ref('stg_polar__metrics') }}
),

latest_refresh as (
    select
        connection_name,
        window_start,
        window_end,
        reporting_timezone,
        refresh_status,
        finished_at
    from {{ ref('stg_polar__refreshes') }}
    where refresh_status in ('success', 'partial')
    qualify row_number() over (
        partition by connection_name
        order by coalesce(finished_at, started_at) desc, started_at desc, refresh_id desc
    ) = 1
),

metric_dates as (
    select connection_name, min(metric_date) as first_metric_date, max(metric_date) as last_metric_date
    from {{ ref('stg_polar__metrics') }}
    group by connection_name
)

select
    connection_names.connection_name,
    -- Without any refresh row (a warehouse filled by hand) the latest loaded day stands in.
    coalesce(latest_refresh.window_end, metric_dates.last_metric_date) as reporting_date,
    latest_refresh.reporting_timezone,
    latest_refresh.refresh_status as latest_refresh_status,
    latest_refresh.finished_at as latest_refresh_finished_at,
    metric_dates.first_metric_date,
    metric_dates.last_metric_date
from connection_names
left join latest_refresh using (connection_name)
left join metric_dates using (connection_name)
