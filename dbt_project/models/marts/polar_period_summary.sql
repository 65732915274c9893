-- One row per connection x scope (an organization, or `all`) x standard period x metric.
{{ polar_summary_sql(
    ranges=ref('int_polar__periods_defined'),
    connections=ref('int_polar__connections_dated'),
    organizations=ref('polar_organizations'),
    currency_check=ref('polar_currency_check'),
    daily_long=ref('polar_metrics_daily_long'),
    catalogue=ref('polar_metric_catalogue'),
) }}
