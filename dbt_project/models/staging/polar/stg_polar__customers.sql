-- Customers as synced; email, name and billing name are as the PII setting stored them.
select
    connection_name,
    organization_id,
    id as customer_id,
    created_at,
    modified_at,
    external_id,
    email,
    email_verified,
    name as customer_name,
    billing_name,
    upper(billing_country) as billing_country,
    type as customer_type,
    locale,
    deleted_at,
    missing_since,
    fetched_at
from {{ source('polar', 'polar_customers') }}
