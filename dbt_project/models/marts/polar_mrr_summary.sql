-- Per organization and `all`, per calendar month: the movements, net new MRR, quick ratio, logo
-- churn and revenue retention (docs: _polar__analytics_marts.yml). One aggregation gives both:
-- an organization's group is its one monthly row; `all` sums the organizations (MRR and
-- customers are additive: a Polar customer belongs to one organization) and the ratios are
-- recomputed from the sums, never averaged. The movements: macro polar_mrr_movements.
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
    select monthly.*, retention.* exclude (connection_name, organization_id, month)
    from {{ ref('polar_mrr_movements_monthly') }} as monthly
    left join retention
        on retention.connection_name = monthly.connection_name
        and retention.organization_id = monthly.organization_id
        and retention.month = monthly.month
),

scoped as (
    select
        connection_name,
        case when grouping(organization_id) = 1 then 'all' else organization_id end
            as organization_id,
        month,
        bool_or(is_partial_month) as is_partial_month,
        {%- for name in ['opening'] + polar_mrr_movements() | map(attribute='movement') | list
            + ['fx_impact', 'closing', 'net_new'] %}
        sum({{ name }}_mrr) as {{ name }}_mrr,
        {%- endfor %}
        {%- for name in ['opening_customers', 'new_customers', 'churned_customers',
            'reactivated_customers', 'closing_customers', 'lost_customers', 'start_customers',
            'start_mrr', 'retained_mrr', 'retained_mrr_capped'] %}
        sum({{ name }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from organizations
    group by grouping sets ((connection_name, organization_id, month), (connection_name, month))
)

select
    connection_name,
    organization_id,
    month,
    is_partial_month,
    cast(opening_mrr as bigint) as opening_mrr,
    {%- for m in polar_mrr_movements() %}
    cast({{ m.movement }}_mrr as bigint) as {{ m.movement }}_mrr,
    {%- endfor %}
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
