{#- One row per customer per day with an MRR movement, up to the as-of date. Changes that
    come only from exchange rates are not movements (see mrr_summary_* fx_adjustment). -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with customer_days as (

    select * from {{ ref('int_mrr__customer_days') }}
    where change_date <= {{ as_of_date() }}
    {%- if is_incremental() %}
        and {{ mart_customer_in_refresh('customer_id') }}
    {%- endif %}

),

movements as (

    select
        customer_id || ':' || cast(change_date as varchar) as movement_id,
        customer_id,
        change_date as movement_date,
        movement_type,
        mrr_change,
        -- before, at today's rates: mrr_after = mrr_before + mrr_change exactly
        cast(mrr_before + fx_adjustment as decimal(18, 4)) as mrr_before,
        mrr_after,
        currency as billing_currency,
        mrr_original_after,
        '{{ reporting_currency() }}' as reporting_currency,
        data_quality
    from customer_days
    where movement_type is not null

)

select * from movements
