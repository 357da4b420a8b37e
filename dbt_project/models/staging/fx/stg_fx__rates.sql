with source as (

    {{ source_or_empty('fx', 'fx_rates', {
        'date': 'date', 'currency': 'varchar', 'rate': 'decimal(18, 8)',
        '_dlt_load_id': 'varchar'}) }}

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
