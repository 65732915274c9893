-- The standard periods of every connection, relative to its reporting date ("today").
-- All of them end today except `yesterday`.
with connections as (
    select connection_name, reporting_date
    from {{ ref('int_polar__connections_dated') }}
    where reporting_date is not null
),

periods as (
    select * from (values
        ('today', 1, 0, 0),
        ('yesterday', 2, 1, 1),
        ('last_7_days', 3, 6, 0),
        ('last_30_days', 4, 29, 0),
        ('last_90_days', 5, 89, 0),
        ('month_to_date', 6, null, 0)
    ) as periods (period, period_order, days_back_start, days_back_end)
)

select
    connections.connection_name,
    periods.period,
    periods.period_order,
    case
        when periods.days_back_start is null then date_trunc('month', connections.reporting_date)
        else connections.reporting_date - periods.days_back_start
    end::date as range_start,
    (connections.reporting_date - periods.days_back_end)::date as range_end
from connections
cross join periods
