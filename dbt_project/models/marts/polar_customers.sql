-- One row per connection x customer: every synced customer, deleted ones kept and flagged.
-- Email and names are as POLAR_METRICS_CUSTOMER_PII stored them (a keyed hash by default).
select
    customers.connection_name,
    customers.organization_id,
    customers.customer_id,
    customers.created_at,
    {{ polar_local_date('customers.created_at', 'connections.reporting_timezone') }}
        as created_date,
    customers.modified_at,
    customers.external_id,
    customers.email,
    customers.email_verified,
    customers.customer_name,
    customers.billing_name,
    customers.billing_country,
    customers.customer_type,
    customers.locale,
    customers.deleted_at is not null or customers.missing_since is not null as is_deleted,
    customers.deleted_at,
    customers.missing_since,
    customers.fetched_at
from {{ ref('stg_polar__customers') }} as customers
left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
