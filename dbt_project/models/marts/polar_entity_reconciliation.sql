-- One row per connection x organization x local day x reconciled metric: Polar's daily value
-- beside the same number rebuilt from the synced entities (identities and live tolerances in
-- the seed polar_reconciliation_identities), on the days the data supports
-- (int_polar__reconciliation_days_selected). Differences are shown, never dropped.
-- Connections in var polar_exact_reconciliation_environments (the emulator) must agree
-- exactly (check_severity `error`); the others within the tolerance (`warn`).
{%- set exact_environments = var('polar_exact_reconciliation_environments') %}
{#- Subscription MRR and counts come from marts.polar_subscription_mrr: a setting other than
    Polar's definition there is a deliberate difference, and the reason says which. -#}
{%- set departures = [] %}
{%- if var('polar_mrr_include_trials') %}{% do departures.append('polar_mrr_include_trials: true') %}{% endif %}
{%- if not var('polar_mrr_include_past_due') %}{% do departures.append('polar_mrr_include_past_due: false') %}{% endif %}
{%- if var('polar_mrr_churn_at') != 'period_end' %}{% do departures.append('polar_mrr_churn_at: ' ~ var('polar_mrr_churn_at')) %}{% endif %}
with days as (
    select * from {{ ref('int_polar__reconciliation_days_selected') }}
),

connections as (
    select
        connection_name,
        environment,
        coalesce(environment in (
            {%- for environment in exact_environments %}
            '{{ environment }}'{{ "," if not loop.last }}
            {%- endfor %}
        ), false) as must_be_exact
    from {{ ref('stg_polar__connections') }}
),

compared as (
    select
        days.connection_name,
        days.organization_id,
        days.metric_date,
        days.metric,
        identities.unit,
        cast(round(days.value_from_polar) as bigint) as value_from_polar,
        case days.metric
            -- A day without paid orders has no row of its own: 0 from the orders.
            when 'revenue' then coalesce(orders.revenue, 0)
            when 'net_revenue' then coalesce(orders.net_revenue, 0)
            when 'active_subscriptions' then subscriptions.active_subscriptions
            when 'monthly_recurring_revenue' then subscriptions.monthly_recurring_revenue
        end as rebuilt_value,
        case days.metric
            when 'active_subscriptions' then null  -- a count needs no exchange rate
            when 'monthly_recurring_revenue' then subscriptions.currencies_without_rate
            else orders.currencies_without_rate
        end as currencies_without_rate,
        coalesce(connections.must_be_exact, false) as must_be_exact,
        connections.environment,
        identities.live_tolerance_ratio,
        identities.live_tolerance_units,
        identities.live_reason,
        days.polar_fetched_at,
        days.entities_synced_at
    from days
    inner join {{ ref('polar_reconciliation_identities') }} as identities
        on identities.metric = days.metric
    left join connections on connections.connection_name = days.connection_name
    left join {{ ref('int_polar__orders_summed_by_day') }} as orders
        on orders.connection_name = days.connection_name
        and orders.organization_id = days.organization_id
        and orders.order_date = days.metric_date
    left join {{ ref('int_polar__subscriptions_counted_by_day') }} as subscriptions
        on subscriptions.connection_name = days.connection_name
        and subscriptions.organization_id = days.organization_id
        and subscriptions.metric_date = days.metric_date
),

valued as (
    select
        *,
        -- Money in a currency without a rate cannot be rebuilt: null, and the reason says so.
        cast(case when currencies_without_rate is null then rebuilt_value end as bigint)
            as value_from_entities,
        cast(case
            when must_be_exact then 0
            else greatest(
                live_tolerance_units, ceil(live_tolerance_ratio * abs(value_from_polar))
            )
        end as bigint) as tolerance
    from compared
)

select
    connection_name,
    organization_id,
    metric_date as "date",
    metric,
    unit,
    value_from_entities,
    value_from_polar,
    value_from_entities - value_from_polar as difference,
    coalesce(value_from_entities = value_from_polar, false) as exact,
    case when must_be_exact then 'error' else 'warn' end as check_severity,
    tolerance,
    coalesce(abs(value_from_entities - value_from_polar) <= tolerance, false) as within_tolerance,
    case
        when value_from_entities = value_from_polar then null
        when value_from_entities is null then
            'no rate in polar_fx_rates for ' || currencies_without_rate
        {%- if departures %}
        when metric in ('active_subscriptions', 'monthly_recurring_revenue') then
            'marts.polar_subscription_mrr departs from Polar''s definition by setting '
            || '{{ departures | join(", ") }}'
        {%- endif %}
        when must_be_exact then
            'must be exact on ' || environment || ' connections, whose entities and metrics come '
            || 'from one simulation: look for rows the entity sync missed, or a rate in '
            || 'polar_fx_rates that differs from the emulator''s'
        else live_reason
    end as reason,
    polar_fetched_at,
    entities_synced_at
from valued
