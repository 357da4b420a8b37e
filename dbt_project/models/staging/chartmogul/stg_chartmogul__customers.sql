with source as (

    {{ source_or_empty('chartmogul', 'customers', {
        'uuid': 'varchar', 'external_id': 'varchar', 'name': 'varchar', 'email': 'varchar',
        'mrr': 'bigint', 'currency': 'varchar', 'as_of': 'date',
        'read_at': 'timestamp with time zone', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        cast(uuid as varchar) as chartmogul_uuid,
        -- our customer id, as the data source imported it; null when empty
        nullif(cast(external_id as varchar), '') as external_id,
        coalesce(cast(name as varchar), '') as customer_name,
        cast(email as varchar) as email,
        cast(mrr as bigint) as mrr_cents,
        upper(cast(currency as varchar)) as currency,
        cast(as_of as date) as as_of,
        cast(read_at as timestamp with time zone) as read_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
