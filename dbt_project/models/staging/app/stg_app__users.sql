with source as (

    {{ source_or_empty('app', 'users', {
        'user_id': 'varchar', 'account_id': 'varchar', 'email': 'varchar',
        'full_name': 'varchar', 'role': 'varchar', 'signed_up_at': 'timestamptz',
        'last_login_at': 'timestamptz', 'updated_at': 'timestamptz'}) }}

),

renamed as (

    select
        user_id,
        account_id,
        email,
        full_name,
        role as user_role,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('last_login_at') }} as last_login_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source

)

select * from renamed
