-- One row per connection x scope (an organization, or `all`) x standard period x metric.
-- The rules live in the macro polar_summary_sql (macros/_macros.yml), shared with the table
-- macro marts.polar_summary(start_date, end_date) that answers custom ranges.
{{ polar_summary_sql(
    ranges=ref('int_polar__periods_defined'),
    connections=ref('int_polar__connections_dated'),
    organizations=ref('polar_organizations'),
    currency_check=ref('polar_currency_check'),
    daily_long=ref('polar_metrics_daily_long'),
    catalogue=ref('polar_metric_catalogue'),
) }}
