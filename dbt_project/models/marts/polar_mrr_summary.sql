-- Per organization and `all`, per calendar month: the movements, net new MRR, quick ratio, logo
-- churn and revenue retention (docs: _polar__analytics_marts.yml). `all` sums the
-- organizations (MRR and customers are additive: a Polar customer belongs to one organization)
-- and recomputes the ratios from the sums, never averaging them.
with retention as (
    select
        connection_name,
        organization_id,
        month,
        count(*) filter (where mrr_at_start > 0 and mrr_at_end = 0) as lost_customers,
        count(*) filter (where mrr_at_start > 0) as start_customers,
        sum(mrr_at_start) filter (where mrr_at_start > 0) as start_mrr,
        sum(mrr_at_end) filter (where mrr_at_start > 0) as retained_mrr,
        sum(least(mrr_at_end, mrr_at_start)) filter (where mrr_at_start > 0) as retained_mrr_capped
    from {{ ref('int_polar__customer_mrr_by_month') }}
    group by all
),

organizations as (
    select
        monthly.connection_name,
        monthly.organization_id,
        monthly.month,
        monthly.is_partial_month,
        monthly.opening_mrr,
        monthly.new_mrr,
        monthly.expansion_mrr,
        monthly.contraction_mrr,
        monthly.churn_mrr,
        monthly.reactivation_mrr,
        monthly.fx_impact_mrr,
        monthly.closing_mrr,
        monthly.net_new_mrr,
        monthly.opening_customers,
        monthly.new_customers,
        monthly.churned_customers,
        monthly.reactivated_customers,
        monthly.closing_customers,
        retention.lost_customers,
        retention.start_customers,
        retention.start_mrr,
        retention.retained_mrr,
        retention.retained_mrr_capped
    from {{ ref('polar_mrr_movements_monthly') }} as monthly
    left join retention
        on retention.connection_name = monthly.connection_name
        and retention.organization_id = monthly.organization_id
        and retention.month = monthly.month
),

scoped as (
    select * from organizations
    union all
    select
        connection_name,
        'all' as organization_id,
        month,
        bool_or(is_partial_month),
        sum(opening_mrr),
        sum(new_mrr),
        sum(expansion_mrr),
        sum(contraction_mrr),
        sum(churn_mrr),
        sum(reactivation_mrr),
        sum(fx_impact_mrr),
        sum(closing_mrr),
        sum(net_new_mrr),
        sum(opening_customers),
        sum(new_customers),
        sum(churned_customers),
        sum(reactivated_customers),
        sum(closing_customers),
        sum(lost_customers),
        sum(start_customers),
        sum(start_mrr),
        sum(retained_mrr),
        sum(retained_mrr_capped)
    from organizations
    group by connection_name, month
)

select
    connection_name,
    organization_id,
    month,
    is_partial_month,
    cast(opening_mrr as bigint) as opening_mrr,
    cast(new_mrr as bigint) as new_mrr,
    cast(expansion_mrr as bigint) as expansion_mrr,
    cast(contraction_mrr as bigint) as contraction_mrr,
    cast(churn_mrr as bigint) as churn_mrr,
    cast(reactivation_mrr as bigint) as reactivation_mrr,
    cast(fx_impact_mrr as bigint) as fx_impact_mrr,
    cast(closing_mrr as bigint) as closing_mrr,
    cast(net_new_mrr as bigint) as net_new_mrr,
    cast((new_mrr + expansion_mrr + reactivation_mrr)
        / nullif(-(churn_mrr + contraction_mrr), 0) as double) as quick_ratio,
    cast(opening_customers as bigint) as opening_customers,
    cast(new_customers as bigint) as new_customers,
    cast(churned_customers as bigint) as churned_customers,
    cast(reactivated_customers as bigint) as reactivated_customers,
    cast(closing_customers as bigint) as closing_customers,
    cast(lost_customers / nullif(start_customers, 0) as double) as logo_churn_rate,
    cast(retained_mrr / nullif(start_mrr, 0) as double) as net_revenue_retention,
    cast(retained_mrr_capped / nullif(start_mrr, 0) as double) as gross_revenue_retention
from scoped
