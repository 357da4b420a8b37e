{#- Reporting-currency units per one unit of each currency, per day. Rates are loaded as
    USD per unit; for another reporting currency the cross rate is rounded to 8 places.
    Only days with a loaded rate appear: a missing rate is never guessed (MRR rows without
    one are flagged `insufficient_data`). -#}

{%- set reporting = reporting_currency() | lower %}

with rates as (

    select * from {{ ref('stg_fx__rates') }}

),

with_usd as (

    -- USD is 1 USD per unit on every day some rate was loaded, even if the file omits it
    select
        rate_date,
        currency,
        usd_per_unit
    from rates
    where currency <> 'usd'
    union all
    select distinct
        rate_date,
        'usd' as currency,
        cast(1 as decimal(18, 8)) as usd_per_unit
    from rates

),

reporting_rate as (

    select
        rate_date,
        usd_per_unit as reporting_usd_per_unit
    from with_usd
    where currency = '{{ reporting }}'

),

cross_rates as (

    select
        with_usd.rate_date,
        with_usd.currency,
        '{{ reporting }}' as reporting_currency,
        {%- if reporting == 'usd' %}
        with_usd.usd_per_unit as rate_to_reporting
        {%- else %}
        cast(round(cast(with_usd.usd_per_unit as decimal(38, 18)) / reporting_rate.reporting_usd_per_unit, 8) as decimal(18, 8)) as rate_to_reporting
        {%- endif %}
    from with_usd
    inner join reporting_rate on with_usd.rate_date = reporting_rate.rate_date

)

select * from cross_rates
