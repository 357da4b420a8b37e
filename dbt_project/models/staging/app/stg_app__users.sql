with source as (

    select * from {{ source('app', 'users') }}

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
