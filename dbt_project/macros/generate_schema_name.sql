{#- Schemas are exactly `staging`, `intermediate` and `marts` (not `<target>_marts`): BI tools,
    the dashboard and the CLI read `marts.*` by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
