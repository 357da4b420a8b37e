{#- Generic test: each period of a bridge starts exactly where the previous one ended. -#}
{% test bridge_is_continuous(model, period_column) %}
    with ordered as (
        select
            {{ period_column }} as period,
            mrr_start,
            lag(mrr_end) over (order by {{ period_column }}) as previous_mrr_end,
            row_number() over (order by {{ period_column }}) as position
        from {{ model }}
    )
    select *
    from ordered
    where (position = 1 and mrr_start <> 0)
        or (position > 1 and mrr_start <> previous_mrr_end)
{% endtest %}
