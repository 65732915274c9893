-- Lifetime revenue up to a day can only grow from one day to the next.
with ordered as (
    select
        connection_name,
        organization_id,
        "date",
        cumulative_revenue,
        lag(cumulative_revenue) over (
            partition by connection_name, organization_id order by "date"
        ) as previous_day_cumulative_revenue
    from {{ ref('polar_metrics_daily') }}
)

select *
from ordered
where cumulative_revenue < previous_day_cumulative_revenue
