{#- Revenue: money invoiced and collected, refunds and credit notes, per customer, day,
    gateway, currency and revenue type, in the original and the reporting currency.
    Grain and identities: fct_revenue.yml. MRR is a different thing (fct_mrr_*). -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

{%- set reporting = reporting_currency() | lower %}
{%- set measures = ['invoiced', 'credited', 'collected', 'refunded', 'uncredited_refund'] %}

with entries as (

    select * from {{ ref('int_revenue__entries') }}
    {%- if is_incremental() %}
    where {{ customer_in_rebuild_scope('customer_id') }}
    {%- endif %}

),

rates as (

    select * from {{ ref('int_fx__rates_to_reporting') }}

),

daily as (

    select
        customer_id,
        revenue_date,
        gateway,
        currency,
        revenue_type,
        {%- for m in measures %}
        sum({{ m }}_minor) as {{ m }}_minor,
        {%- endfor %}
        count(*) as entry_count
    from entries
    group by customer_id, revenue_date, gateway, currency, revenue_type

),

in_major_units as (

    select
        customer_id,
        revenue_date,
        gateway,
        currency,
        revenue_type,
        {%- for m in measures %}
        {{ minor_to_major(m ~ '_minor', 'currency') }} as {{ m }}_amount,
        {%- endfor %}
        entry_count
    from daily

),

with_rate as (

    select
        in_major_units.*,
        -- the reporting currency converts at 1 on every day, loaded rates or not
        cast(case
            when in_major_units.currency = '{{ reporting }}' then 1
            else rates.rate_to_reporting
        end as decimal(18, 8)) as fx_rate
    from in_major_units
    left join rates
        on in_major_units.revenue_date = rates.rate_date
        and in_major_units.currency = rates.currency

),

converted as (

    select
        *,
        {%- for m in measures %}
        {{ convert_amount(m ~ '_amount', 'fx_rate', 4) }} as {{ m }}_amount_reporting,
        {%- endfor %}
        case when fx_rate is null then 'insufficient_data' else 'actual' end as data_quality
    from with_rate

),

final as (

    -- text columns cast so the contract holds on PostgreSQL too (lower() and md5() give text)
    select
        cast(md5(
            customer_id || '|' || cast(revenue_date as varchar) || '|' || gateway
            || '|' || currency || '|' || revenue_type
        ) as varchar) as revenue_id,
        cast(customer_id as varchar) as customer_id,
        revenue_date,
        cast(gateway as varchar) as gateway,
        cast(currency as varchar) as currency,
        cast(revenue_type as varchar) as revenue_type,
        invoiced_amount,
        credited_amount,
        collected_amount,
        refunded_amount,
        uncredited_refund_amount,
        cast(invoiced_amount - credited_amount - uncredited_refund_amount as decimal(18, 2)) as net_revenue,
        cast(collected_amount - refunded_amount as decimal(18, 2)) as net_collected_amount,
        cast('{{ reporting_currency() }}' as varchar) as reporting_currency,
        fx_rate,
        invoiced_amount_reporting,
        credited_amount_reporting,
        collected_amount_reporting,
        refunded_amount_reporting,
        uncredited_refund_amount_reporting,
        cast(
            invoiced_amount_reporting - credited_amount_reporting - uncredited_refund_amount_reporting as decimal(18, 4)
        ) as net_revenue_reporting,
        cast(collected_amount_reporting - refunded_amount_reporting as decimal(18, 4))
            as net_collected_amount_reporting,
        cast(entry_count as integer) as entry_count,
        cast(data_quality as varchar) as data_quality
    from converted

)

select * from final
