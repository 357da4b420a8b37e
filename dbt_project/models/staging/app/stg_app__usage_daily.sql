with source as (

    {{ source_or_empty('app', 'usage_daily', {
        'usage_date': 'date', 'account_id': 'varchar', 'user_id': 'varchar',
        'feature': 'varchar', 'event_count': 'bigint', 'updated_at': 'timestamptz',
        '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        cast(usage_date as date) as usage_date,
        account_id,
        user_id,
        feature,
        event_count,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
