-- THE place subscription MRR is computed (docs: _polar__analytics_marts.yml): each
-- subscription's MRR as segments [valid_from, valid_to) of local days, split at its trial's end,
-- at each change of its amount, currency, interval or seats (int_polar__subscription_versions:
-- the history the refreshes saw) and at each new exchange rate of its currency. Open ends are
-- carried as far-away dates inside the model and returned as null.
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
        connections.reporting_timezone,
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

-- Versions on local days: one changed twice in a day keeps the day's last (an empty range).
versions as (
    select
        versions.*,
        coalesce(
            {{ polar_local_date('versions.valid_from_at', 'connections.reporting_timezone') }},
            {{ since_always }}
        ) as version_start,
        coalesce(
            {{ polar_local_date('versions.valid_to_at', 'connections.reporting_timezone') }},
            {{ forever }}
        ) as version_end
    from {{ ref('int_polar__subscription_versions') }} as versions
    left join {{ ref('int_polar__connections_dated') }} as connections using (connection_name)
),

sliced as (
    select
        parts.* exclude (amount, currency, recurring_interval, recurring_interval_count, seats),
        parts.amount as current_amount,
        parts.currency as current_currency,
        parts.recurring_interval as current_recurring_interval,
        parts.recurring_interval_count as current_recurring_interval_count,
        versions.amount,
        versions.currency,
        versions.recurring_interval,
        versions.recurring_interval_count,
        versions.seats,
        versions.is_past_due,
        versions.change_reason,
        greatest(parts.part_start, versions.version_start) as slice_start,
        least(parts.part_end, versions.version_end) as slice_end
    from parts
    inner join versions
        on versions.connection_name = parts.connection_name
        and versions.subscription_id = parts.subscription_id
        and versions.version_start < parts.part_end
        and versions.version_end > parts.part_start
),

rated as (
    select
        sliced.*,
        rates.usd_per_unit,
        greatest(sliced.slice_start, coalesce(rates.valid_from, {{ since_always }})) as piece_start,
        least(sliced.slice_end, coalesce(rates.valid_to, {{ forever }})) as piece_end
    from sliced
    left join {{ ref('int_polar__fx_rates_dated') }} as rates
        on rates.currency = sliced.currency
        and coalesce(rates.valid_from, {{ since_always }}) < sliced.slice_end
        and coalesce(rates.valid_to, {{ forever }}) > sliced.slice_start
    where sliced.slice_start < sliced.slice_end
),

pieces as (
    select
        rated.*,
        lag(rated.usd_per_unit) over by_piece as previous_usd_per_unit,
        lag(rated.currency) over by_piece as previous_currency,
        -- Polar values every past day at the current row: the current currency's rate that day.
        current_rates.usd_per_unit as current_usd_per_unit
    from rated
    left join {{ ref('int_polar__fx_rates_dated') }} as current_rates
        on current_rates.currency = rated.current_currency
        and coalesce(current_rates.valid_from, {{ since_always }}) <= rated.piece_start
        and coalesce(current_rates.valid_to, {{ forever }}) > rated.piece_start
    where rated.piece_start < rated.piece_end
    window by_piece as (partition by rated.connection_name, rated.subscription_id order by rated.piece_start)
),

valued as (
    select
        *,
        {{ polar_usd_cents('coalesce(amount, 0)', 'usd_per_unit') }} as amount_usd,
        {%- for name, amount, rate, interval, interval_count, past_due in [
            ('mrr_value', 'amount', 'usd_per_unit', 'recurring_interval',
                'recurring_interval_count', 'is_past_due'),
            ('mrr_at_previous_rate', 'amount', 'previous_usd_per_unit', 'recurring_interval',
                'recurring_interval_count', 'is_past_due'),
            ('current_value', 'current_amount', 'current_usd_per_unit',
                'current_recurring_interval', 'current_recurring_interval_count',
                "status = 'past_due'"),
        ] %}
        case
            when is_trialing and not {{ include_trials }} then 0
            {%- if not include_past_due %}
            when coalesce({{ past_due }}, false) then 0
            {%- endif %}
            else {{ polar_monthly_amount(
                polar_usd_cents('coalesce(' ~ amount ~ ', 0)', rate), interval, interval_count
            ) }}
        end as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from pieces
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
        when piece_start = part_start then
            case when is_trialing or part_start = span_start then 'start' else 'trial_end' end
        when piece_start = slice_start then change_reason
        else 'fx_rate'
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
    -- A new rate on a day inside a part: the change of this piece's amount at the new rate
    -- against the same amount at the old one (an amount change that day is the rest).
    cast(case
        when piece_start > part_start and previous_currency = currency
            and previous_usd_per_unit is distinct from usd_per_unit
            then mrr_value - mrr_at_previous_rate
        else 0
    end as bigint) as fx_impact,
    cast(current_value as bigint) as mrr_at_current_amount
from valued
