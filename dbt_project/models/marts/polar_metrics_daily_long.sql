-- One row per connection x scope x series x date x metric, values exactly as Polar reported
-- them (doubles; whole cents exact): the long form BI tools pivot freely, and what the period
-- summary and the table macro marts.polar_summary aggregate.
select
    connection_name,
    scope,
    organization_id,
    series,
    metric_date as "date",
    metric_slug as metric,
    metric_value as value,
    fetched_at
from {{ ref('int_polar__metrics_scoped') }}
