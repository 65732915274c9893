-- One row per connection: do its active organizations share one presentment currency?
select
    connection_name,
    active_organization_count,
    currencies,
    currency_mismatch,
    currency_warning
from {{ ref('int_polar__connections_currency_checked') }}
