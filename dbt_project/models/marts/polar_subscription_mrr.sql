-- THE place subscription MRR is computed (docs: _polar__analytics_marts.yml): each
-- subscription's MRR as segments [valid_from, valid_to) of local days, split at its trial's end
-- and at each new exchange rate of its currency. Open ends are carried as far-away dates
-- inside the model and returned as null.
{%- set include_trials = var('polar_mrr_include_trials') %}
{%- set include_past_due = var('polar_mrr_include_past_due') %}
{%- set churn_at = var('polar_mrr_churn_at') %}
{%- if churn_at not in ['period_end', 'cancellation'] %}
    {{ exceptions.raise_compiler_error(
        "var polar_mrr_churn_at must be period_end or cancellation, not '" ~ churn_at ~ "'"
    ) }}
{%- endif %}
{%- set since_always = "date '0001-01-01'" %}
{%- set forever = "date '9999-12-31'" %}
with subscriptions as (
    select
        subscriptions.*,
        {{ polar_local_date('subscriptions.trial_end', 'connections.reporting_timezone') }}
            as trial_end_date,
        {{ polar_local_date('subscriptions.canceled_at', 'connections.reporting_timezone') }}
            as canceled_date
    from {{ ref('polar_subscriptions') }} as subscriptions
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
),

bounded as (
    select
        *,
        coalesce(started_date, {{ since_always }}) as span_start,
        {%- if churn_at == 'cancellation' %}
        coalesce(least(end_date, canceled_date), {{ forever }}) as span_end,
        {%- else %}
        coalesce(end_date, {{ forever }}) as span_end,
        {%- endif %}
        -- Polar counts MRR from the local day the trial ends (by that day's end it is paid).
        greatest(coalesce(started_date, {{ since_always }}), coalesce(trial_end_date, {{ since_always }}))
            as paid_start
    from subscriptions
),

parts as (
    select *, span_start as part_start, least(paid_start, span_end) as part_end, true as is_trialing
    from bounded
    where paid_start > span_start
    union all
    select *, paid_start as part_start, span_end as part_end, false as is_trialing
    from bounded
    where paid_start < span_end
),

rated as (
    select
        parts.*,
        rates.usd_per_unit,
        greatest(parts.part_start, coalesce(rates.valid_from, {{ since_always }})) as piece_start,
        least(parts.part_end, coalesce(rates.valid_to, {{ forever }})) as piece_end
    from parts
    left join {{ ref('int_polar__fx_rates_dated') }} as rates
        on rates.currency = parts.currency
        and coalesce(rates.valid_from, {{ since_always }}) < parts.part_end
        and coalesce(rates.valid_to, {{ forever }}) > parts.part_start
),

valued as (
    select
        *,
        {{ polar_usd_cents('coalesce(amount, 0)', 'usd_per_unit') }} as amount_usd,
        case
            when is_trialing and not {{ include_trials }} then 0
            {%- if not include_past_due %}
            when status = 'past_due' then 0
            {%- endif %}
            else {{ polar_monthly_amount(
                polar_usd_cents('coalesce(amount, 0)', 'usd_per_unit'),
                'recurring_interval', 'recurring_interval_count'
            ) }}
        end as mrr_value
    from rated
)

select
    connection_name,
    organization_id,
    subscription_id,
    customer_id,
    product_id,
    nullif(piece_start, {{ since_always }}) as valid_from,
    nullif(piece_end, {{ forever }}) as valid_to,
    case
        when piece_start > part_start then 'fx_rate'
        when is_trialing or part_start = span_start then 'start'
        else 'trial_end'
    end as segment_start_reason,
    is_trialing,
    status,
    currency,
    amount,
    recurring_interval,
    recurring_interval_count,
    seats,
    usd_per_unit,
    amount_usd,
    cast(mrr_value as bigint) as mrr,
    cast(case
        when piece_start > part_start
            then mrr_value - lag(mrr_value) over (partition by connection_name, subscription_id order by piece_start)
        else 0
    end as bigint) as fx_impact
from valued
where piece_start < piece_end
