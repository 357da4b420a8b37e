{#- MetricFlow's time spine: one row per UTC day from 2015-01-01 (before the data of any
    business this warehouse loads) to the last day of the as-of month, the last day with
    data. It ends there, not years later, because cumulative metrics (the six-month
    windows of LTV) run to the end of the spine: a longer one shows empty future months.
    Not a mart: it lives in schema `utilities`. -#}

{{ config(materialized='table', schema='utilities') }}

with days as (

    {# dbt.date_spine's end is exclusive: the day after the as-of month's last day #}
    {{ dbt.date_spine(
        'day',
        "cast('2015-01-01' as date)",
        dbt.dateadd('day', 1, dbt.last_day(as_of_date(), 'month'))
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
