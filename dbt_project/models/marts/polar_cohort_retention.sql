-- Cohorts by the month of each customer's first paid day, measured at the end of month 0..N,
-- per organization and `all` (every organization's customers together: a Polar customer
-- belongs to one organization, so the cohorts add up). Docs: _polar__analytics_marts.yml.
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

scoped as (
    select *, organization_id as scope from firsts
    union all
    select *, 'all' as scope from firsts
),

months as (
    select connection_name, organization_id as scope, month, is_partial_month
    from {{ ref('polar_mrr_movements_monthly') }}
    union all
    select connection_name, 'all' as scope, month, bool_or(is_partial_month) as is_partial_month
    from {{ ref('polar_mrr_movements_monthly') }}
    group by connection_name, month
),

cohorts as (
    select
        connection_name,
        scope,
        cohort_month,
        count(*) as cohort_customers,
        sum(starting_mrr) as cohort_starting_mrr
    from scoped
    group by all
),

retained as (
    select
        scoped.connection_name,
        scoped.scope,
        scoped.cohort_month,
        by_month.month,
        count(*) as retained_customers,
        sum(by_month.mrr_at_end) as retained_mrr
    from scoped
    inner join {{ ref('int_polar__customer_mrr_by_month') }} as by_month
        using (connection_name, organization_id, customer_key)
    where by_month.mrr_at_end > 0 and by_month.month >= scoped.cohort_month
    group by all
)

select
    cohorts.connection_name,
    cohorts.scope as organization_id,
    cohorts.cohort_month,
    cast(datediff('month', cohorts.cohort_month, months.month) as integer) as months_since_start,
    months.month,
    months.is_partial_month,
    cast(cohorts.cohort_customers as bigint) as cohort_customers,
    cast(cohorts.cohort_starting_mrr as bigint) as cohort_starting_mrr,
    cast(coalesce(retained.retained_customers, 0) as bigint) as retained_customers,
    cast(coalesce(retained.retained_mrr, 0) as bigint) as retained_mrr,
    cast(coalesce(retained.retained_customers, 0) / cohorts.cohort_customers as double)
        as logo_retention,
    cast(coalesce(retained.retained_mrr, 0) / nullif(cohorts.cohort_starting_mrr, 0) as double)
        as revenue_retention
from cohorts
inner join months
    on months.connection_name = cohorts.connection_name
    and months.scope = cohorts.scope
    and months.month >= cohorts.cohort_month
left join retained
    on retained.connection_name = cohorts.connection_name
    and retained.scope = cohorts.scope
    and retained.cohort_month = cohorts.cohort_month
    and retained.month = months.month
