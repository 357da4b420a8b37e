{#- Generic test: none of `columns` is null, checked in one scan of the model (one query
    instead of one per column). Returns a row per column that has nulls, with how many. -#}
{% test not_null_columns(model, columns) %}
    with null_counts as (
        select
            {%- for column in columns %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ model }}
    )

    {% for column in columns -%}
    select '{{ column }}' as column_name, nulls_{{ loop.index }} as null_rows
    from null_counts
    where nulls_{{ loop.index }} > 0
    {{ "union all" if not loop.last }}
    {% endfor %}
{% endtest %}
