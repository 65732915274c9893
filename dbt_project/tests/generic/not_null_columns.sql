{#- dbt's not_null for several columns of a model in one query (one scan, one dbt node): a
    test node costs ~40 ms of every build whatever it checks, and not_null was 101 of them. -#}
{% test not_null_columns(model, columns) %}
with counted as (
    select
    {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null)
            as {{ adapter.quote(column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

select column_name, null_rows
from (unpivot counted on columns(*) into name column_name value null_rows)
where null_rows > 0
{% endtest %}
