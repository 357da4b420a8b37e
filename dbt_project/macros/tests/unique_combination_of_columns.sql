{#- Generic test: no two rows share the same values of `combination_of_columns`. Name and
    arguments are dbt_utils' (unique_combination_of_columns), so installing dbt_utils later
    changes no YAML; this copy, in the root project, takes precedence until it is removed. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {%- set columns = [] -%}
    {%- for column in combination_of_columns -%}
        {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
    {%- endfor -%}
    select {{ columns | join(', ') }}, count(*) as rows_with_these_values
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
