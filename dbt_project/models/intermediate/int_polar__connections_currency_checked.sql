-- Which presentment currencies the queried (active) organizations of a connection use. Polar
-- converts every sale into cents of its settlement currency (USD), so sums across organizations
-- are sound; a mix of currencies is still flagged, because each organization's dollar figures
-- then move with exchange rates (see the per-organization detail).
with active_organizations as (
    select connection_name, organization_id, presentment_currency
    from {{ ref('stg_polar__organizations') }}
    where is_queried
),

per_connection as (
    select
        connections.connection_name,
        count(active_organizations.organization_id) as active_organization_count,
        list_sort(list_distinct(list(active_organizations.presentment_currency)))
            as currency_list
    from {{ ref('int_polar__connections_dated') }} as connections
    left join active_organizations using (connection_name)
    group by connections.connection_name
)

select
    connection_name,
    active_organization_count,
    nullif(array_to_string(currency_list, ', '), '') as currencies,
    len(currency_list) > 1 as currency_mismatch,
    case
        when len(currency_list) > 1 then
            'organizations use different currencies ('
            || array_to_string(currency_list, ', ')
            || '); Polar converts every sale into US dollars, its settlement currency, at the '
            || 'sale''s own rate, so the totals are USD — see the per-organization detail'
    end as currency_warning,
    case when len(currency_list) = 1 then currency_list[1] end as single_currency
from per_connection
