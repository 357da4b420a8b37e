{#- Cost-sheet rows, typed. The table exists only after the first cost sheet was loaded;
    until then this is an empty row set and every cost KPI is `insufficient_data`. -#}

with source as (

    {{ source_or_empty('costs', 'cost_sheet_rows', {
        'cost_date': 'date', 'cost_type': 'varchar', 'amount': 'decimal(18, 2)',
        'currency': 'varchar', 'channel': 'varchar', 'description': 'varchar',
        'source_file': 'varchar', 'sheet': 'varchar', 'row_number': 'bigint',
        'loaded_at': 'timestamptz', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        cast(source_file as varchar) as source_file,
        cast(sheet as varchar) as sheet,
        cast(row_number as bigint) as row_number,
        cast(cost_date as date) as cost_date,
        lower(cast(cost_type as varchar)) as cost_type,
        cast(amount as decimal(18, 2)) as amount,
        lower(cast(currency as varchar)) as currency,
        -- an empty cell is no channel
        nullif(lower(trim(cast(channel as varchar))), '') as channel,
        cast(description as varchar) as description,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        cast(_dlt_load_id as varchar) as dlt_load_id
    from source

)

select * from renamed
