{#- Every cost-sheet row in the reporting currency, at the rate of its cost date
    (int_fx__rates_to_reporting); the reporting currency converts at 1 on every day. A row
    of another currency without a rate for its day gets no reporting amount and is flagged
    `insufficient_data`: the rate is never guessed from another day. -#}

{%- set reporting = reporting_currency() | lower %}

with cost_rows as (

    select * from {{ ref('stg_costs__cost_sheet_rows') }}

),

rates as (

    select
        rate_date,
        currency,
        rate_to_reporting
    from {{ ref('int_fx__rates_to_reporting') }}

),

converted as (

    select
        cost_rows.source_file,
        cost_rows.sheet,
        cost_rows.row_number,
        cost_rows.cost_date,
        {{ month_start('cost_rows.cost_date') }} as cost_month,
        cost_rows.cost_type,
        case
            when cost_rows.cost_type in ('sales', 'marketing', 'advertising') then 'sales_marketing'
            when cost_rows.cost_type in ('infrastructure', 'payment_fees', 'support', 'cogs') then 'cogs'
            else 'operating'
        end as cost_group,
        cost_rows.channel,
        cost_rows.currency,
        cost_rows.amount,
        case
            when cost_rows.currency = '{{ reporting }}' then cast(1 as decimal(18, 8))
            else rates.rate_to_reporting
        end as fx_rate
    from cost_rows
    left join rates
        on cost_rows.cost_date = rates.rate_date
        and cost_rows.currency = rates.currency

),

final as (

    select
        source_file,
        sheet,
        row_number,
        cost_date,
        cost_month,
        cost_type,
        cost_group,
        channel,
        currency,
        amount,
        fx_rate,
        {{ convert_amount('amount', 'fx_rate') }} as amount_reporting,
        '{{ reporting }}' as reporting_currency,
        case when fx_rate is null then 'insufficient_data' else 'actual' end as data_quality,
        case
            when fx_rate is null
                then 'no exchange rate for ' || upper(currency) || ' on ' || cast(cost_date as varchar)
        end as reason
    from converted
    -- the as-of date is "today": rows booked later (budgets, accruals) are not costs yet
    where cost_date <= {{ as_of_date() }}

)

select * from final
