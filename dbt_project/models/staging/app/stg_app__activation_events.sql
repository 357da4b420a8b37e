with source as (

    {{ source_or_empty('app', 'activation_events', {
        'event_id': 'varchar', 'account_id': 'varchar', 'user_id': 'varchar',
        'event_name': 'varchar', 'occurred_at': 'timestamptz', 'updated_at': 'timestamptz',
        '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        event_id,
        account_id,
        user_id,
        event_name,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
