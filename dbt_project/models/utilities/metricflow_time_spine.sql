{#- MetricFlow's time spine: one row per UTC day from 2015-01-01 (before the data of any
    business this warehouse loads) to the last day of the as-of month, the last day with
    data. It ends there, not years later, because cumulative metrics (the six-month
    windows of LTV) run to the end of the spine: a longer one shows empty future months.
    Not a mart: it lives in schema `utilities`. -#}

{{ config(materialized='table', schema='utilities') }}

with days as (

    select spine_at
    from {{ date_series("'2015-01-01'", month_end(as_of_date()), '1 day') }}

),

final as (

    select cast(spine_at as date) as date_day
    from days

)

select * from final
