{#- dbt's `relationships`, within one connection: every non-null value of the column is a
    `field` of `to` in the same connection (one Polar account may be synced by two). -#}
{% test relationships_per_connection(model, column_name, to, field) %}
select child.connection_name, child.{{ column_name }} as missing_{{ field }}
from {{ model }} as child
left join {{ to }} as parent
    on parent.connection_name = child.connection_name
    and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null
    and parent.{{ field }} is null
{% endtest %}
