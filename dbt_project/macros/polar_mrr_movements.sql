{#- The MRR movements, the one list the movement marts and the bridge test loop over
    (documented in macros/_macros.yml). -#}

{% macro polar_mrr_movements() -%}
    {#- In bridge order: the movement (int_polar__customer_mrr_changes.movement, and the
        `<movement>_mrr` column) and the column counting its customers. -#}
    {{ return([
        {'movement': 'new', 'customers': 'new_customers'},
        {'movement': 'expansion', 'customers': 'expansion_customers'},
        {'movement': 'contraction', 'customers': 'contraction_customers'},
        {'movement': 'churn', 'customers': 'churned_customers'},
        {'movement': 'reactivation', 'customers': 'reactivated_customers'},
    ]) }}
{%- endmacro %}

{% macro polar_net_new_mrr(prefix='') -%}
    ({% for m in polar_mrr_movements() %}{{ prefix }}{{ m.movement }}_mrr{{ ' + ' if not loop.last }}{% endfor %})
{%- endmacro %}
