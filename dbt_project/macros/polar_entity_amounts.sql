{#- Dates and money of the entities, the way Polar's metrics compute them (documented in
    macros/_macros.yml). Integer arithmetic throughout: a float would move a half cent. -#}

{% macro polar_local_date(timestamp_column, timezone_column) -%}
    cast(timezone(coalesce({{ timezone_column }}, 'UTC'), {{ timestamp_column }}) as date)
{%- endmacro %}

{% macro polar_divide_half_up(numerator, denominator) -%}
    {#- floor((2n + d) / 2d) for d > 0, in integers (DuckDB's // truncates toward zero) -#}
    (case
        when (2 * ({{ numerator }}) + ({{ denominator }})) >= 0
            then (2 * ({{ numerator }}) + ({{ denominator }})) // (2 * ({{ denominator }}))
        else -((-(2 * ({{ numerator }}) + ({{ denominator }})) + 2 * ({{ denominator }}) - 1)
            // (2 * ({{ denominator }})))
    end)
{%- endmacro %}

{% macro polar_usd_cents(amount, usd_per_unit) -%}
    cast({{ polar_divide_half_up(
        'cast(' ~ amount ~ ' as hugeint) * cast(round(' ~ usd_per_unit ~ ' * 1000000) as hugeint)',
        '1000000'
    ) }} as bigint)
{%- endmacro %}

{% macro polar_monthly_amount(amount, interval, interval_count) -%}
    (case {{ interval }}
        when 'year' then {{ polar_divide_half_up(amount, '12 * ' ~ interval_count) }}
        when 'month' then {{ polar_divide_half_up(amount, interval_count) }}
        when 'week' then {{ polar_divide_half_up(amount ~ ' * 52', '12 * ' ~ interval_count) }}
        when 'day' then {{ polar_divide_half_up(amount ~ ' * 365', '12 * ' ~ interval_count) }}
    end)
{%- endmacro %}
