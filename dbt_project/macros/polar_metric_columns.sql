{#- One column per metric of the model's YAML (generated from the catalogue by
    orchestration/dbt_codegen.py): columns carrying `meta.metric_slug` pivot the long values. -#}
{% macro polar_metric_columns(slug_column, value_column) %}
{%- set metric_columns = [] -%}
{%- for column in model.columns.values() if column.meta and column.meta.get('metric_slug') -%}
    {%- do metric_columns.append(column) -%}
{%- endfor -%}
{%- if execute and metric_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        model.name ~ " has no metric columns: run `python -m orchestration.dbt_codegen`") }}
{%- endif -%}
{%- for column in metric_columns %}
    cast(max({{ value_column }}) filter (where {{ slug_column }} = '{{ column.meta.metric_slug }}')
        as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
{%- endfor %}
{% endmacro %}
