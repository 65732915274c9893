-- Cohorts by the month of each customer's first paid day, measured at the end of month 0..N
-- (docs: _polar__analytics_marts.yml).
with firsts as (
    select
        connection_name,
        organization_id,
        customer_key,
        cast(date_trunc('month', change_date) as date) as cohort_month,
        mrr_after as starting_mrr
    from {{ ref('int_polar__customer_mrr_changes') }}
    where movement = 'new'
),

cohorts as (
    select
        connection_name,
        organization_id,
        cohort_month,
        count(*) as cohort_customers,
        sum(starting_mrr) as cohort_starting_mrr
    from firsts
    group by all
),

retained as (
    select
        firsts.connection_name,
        firsts.organization_id,
        firsts.cohort_month,
        by_month.month,
        count(*) as retained_customers,
        sum(by_month.mrr_at_end) as retained_mrr
    from firsts
    inner join {{ ref('int_polar__customer_mrr_by_month') }} as by_month
        using (connection_name, organization_id, customer_key)
    where by_month.mrr_at_end > 0 and by_month.month >= firsts.cohort_month
    group by all
)

select
    cohorts.connection_name,
    cohorts.organization_id,
    cohorts.cohort_month,
    cast(datediff('month', cohorts.cohort_month, monthly.month) as integer) as months_since_start,
    monthly.month,
    monthly.is_partial_month,
    cast(cohorts.cohort_customers as bigint) as cohort_customers,
    cast(cohorts.cohort_starting_mrr as bigint) as cohort_starting_mrr,
    cast(coalesce(retained.retained_customers, 0) as bigint) as retained_customers,
    cast(coalesce(retained.retained_mrr, 0) as bigint) as retained_mrr,
    cast(coalesce(retained.retained_customers, 0) / cohorts.cohort_customers as double)
        as logo_retention,
    cast(coalesce(retained.retained_mrr, 0) / nullif(cohorts.cohort_starting_mrr, 0) as double)
        as revenue_retention
from cohorts
inner join {{ ref('polar_mrr_movements_monthly') }} as monthly
    on monthly.connection_name = cohorts.connection_name
    and monthly.organization_id = cohorts.organization_id
    and monthly.month >= cohorts.cohort_month
left join retained
    on retained.connection_name = cohorts.connection_name
    and retained.organization_id = cohorts.organization_id
    and retained.cohort_month = cohorts.cohort_month
    and retained.month = monthly.month
