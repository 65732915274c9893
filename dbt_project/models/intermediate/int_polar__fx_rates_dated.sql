{{ config(materialized='view') }}
-- The seed polar_fx_rates as validity intervals per currency: a rate holds from its valid_from
-- (local day) until the next rate of the currency takes effect. The earliest rate of a
-- currency also holds before its valid_from (so every day has a rate once a currency has one);
-- both ends are null when open.
select
    currency,
    case when row_number() over by_start > 1 then valid_from end as valid_from,
    lead(valid_from) over by_start as valid_to,
    usd_per_unit
from {{ ref('polar_fx_rates') }}
window by_start as (partition by currency order by valid_from nulls first)
