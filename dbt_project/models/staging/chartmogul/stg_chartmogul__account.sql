with source as (

    {{ source_or_empty('chartmogul', 'account', {
        'account_id': 'varchar', 'name': 'varchar', 'currency': 'varchar',
        'time_zone': 'varchar', 'as_of': 'date', 'read_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        cast(account_id as varchar) as account_id,
        cast(name as varchar) as account_name,
        upper(cast(currency as varchar)) as currency,
        cast(time_zone as varchar) as time_zone,
        -- the as-of date the load read ChartMogul for
        cast(as_of as date) as as_of,
        cast(read_at as timestamp with time zone) as read_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
