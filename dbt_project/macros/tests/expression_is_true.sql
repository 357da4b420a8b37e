{#- Generic test: every row satisfies a SQL expression. Name and arguments are dbt_utils'
    (expression_is_true; on a column, `expression` follows the column's name), so installing
    dbt_utils later changes no YAML. Filter rows with dbt's `where` config. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    {% if column_name is none -%}
    where not ({{ expression }})
    {%- else -%}
    where not ({{ column_name }} {{ expression }})
    {%- endif %}
{% endtest %}
