{#- Generic test: every row satisfies a SQL expression (dbt_utils' test, without the package
    the dbt hub cannot serve everywhere). -#}
{% test expression_is_true(model, expression, where=none) %}
    select *
    from {{ model }}
    where not ({{ expression }})
    {%- if where %} and ({{ where }}){% endif %}
{% endtest %}
