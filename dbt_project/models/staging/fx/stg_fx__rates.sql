with source as (

    select * from {{ source('fx', 'fx_rates') }}

),

renamed as (

    select
        cast(date as date) as rate_date,
        lower(currency) as currency,
        -- USD per one unit of the currency
        cast(rate as decimal(18, 8)) as usd_per_unit,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
