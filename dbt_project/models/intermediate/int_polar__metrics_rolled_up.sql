-- The daily multi-organization rollup, one value per connection x date x catalogue metric,
-- equal to Polar's own multi-organization series (the catalogue's `org_aggregation` decides):
-- additive metrics are the sum of organizations, ratios are recomputed from their summed
-- components (never averaged), and `polar_all` ones come from Polar's server-side series: the
-- values Polar derives AFTER summing that no sum of the per-organization values reproduces
-- (e.g. cashflow = round(revenue - sub-cent costs) per day: rounded once by Polar over the sum,
-- once per organization in the organizations' own values).
-- Polar rounds a day's ratio of whole units (cents, counts) up; so does the rollup.
with scoped as (
    select connection_name, series, metric_date, metric_slug, metric_value
    from {{ ref('int_polar__metrics_scoped') }}
    where scope = 'all'
),

catalogue as (
    select * from {{ ref('polar_metric_catalogue') }}
),

days as (
    select distinct connection_name, metric_date from scoped
)

select
    days.connection_name,
    days.metric_date,
    catalogue.slug as metric_slug,
    case catalogue.org_aggregation
        when 'polar_all' then polar_all.metric_value
        when 'recomputed' then
            case
                when coalesce(denominator.metric_value, 0) <= 0 then 0.0
                when catalogue.unit in ('count', 'cents')
                    then ceil(numerator.metric_value / denominator.metric_value)
                else numerator.metric_value / denominator.metric_value
            end
        else summed.metric_value
    end as metric_value
from days
cross join catalogue
left join scoped as summed
    on summed.connection_name = days.connection_name
    and summed.metric_date = days.metric_date
    and summed.series = 'sum_of_organizations'
    and summed.metric_slug = catalogue.slug
left join scoped as polar_all
    on polar_all.connection_name = days.connection_name
    and polar_all.metric_date = days.metric_date
    and polar_all.series = 'polar_all'
    and polar_all.metric_slug = catalogue.slug
left join scoped as numerator
    on numerator.connection_name = days.connection_name
    and numerator.metric_date = days.metric_date
    and numerator.series = 'sum_of_organizations'
    and numerator.metric_slug = catalogue.total_numerator
left join scoped as denominator
    on denominator.connection_name = days.connection_name
    and denominator.metric_date = days.metric_date
    and denominator.series = 'sum_of_organizations'
    and denominator.metric_slug = catalogue.total_denominator
