{#- Generic test: each column in `values_by_column` holds only its listed values (nulls
    pass, as in dbt's accepted_values), in one query over the model. Returns a row per
    column and value that is not allowed, with how many rows hold it. -#}
{% test accepted_values_columns(model, values_by_column) %}
    {% for column, values in values_by_column.items() -%}
    select
        '{{ column }}' as column_name,
        cast({{ column }} as {{ dbt.type_string() }}) as unexpected_value,
        count(*) as rows_with_it
    from {{ model }}
    where {{ column }} is not null
        and cast({{ column }} as {{ dbt.type_string() }}) not in (
            {%- for value in values %}'{{ value | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        )
    group by cast({{ column }} as {{ dbt.type_string() }})
    {{ "union all" if not loop.last }}
    {% endfor %}
{% endtest %}
