-- One row per connection x refund: every synced refund, amounts in minor units of its currency
-- (the order's); Polar moves net revenue of the ORIGINAL order's day, not of created_date.
select
    refunds.connection_name,
    refunds.organization_id,
    refunds.refund_id,
    refunds.created_at,
    {{ polar_local_date('refunds.created_at', 'connections.reporting_timezone') }}
        as created_date,
    refunds.modified_at,
    refunds.status,
    refunds.reason,
    refunds.amount,
    refunds.tax_amount,
    refunds.currency,
    refunds.order_id,
    refunds.subscription_id,
    refunds.customer_id,
    refunds.revoke_benefits,
    refunds.fetched_at
from {{ ref('stg_polar__refunds') }} as refunds
left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
