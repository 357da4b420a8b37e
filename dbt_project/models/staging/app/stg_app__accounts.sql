with source as (

    select * from {{ source('app', 'accounts') }}

),

renamed as (

    select
        account_id,
        name as account_name,
        owner_user_id,
        stripe_customer_id,
        billing_gateway,
        plan_id,
        seats,
        acquisition_channel,
        utm_source,
        utm_medium,
        utm_campaign,
        upper(country) as country,
        lower(currency) as currency,
        status as account_status,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('trial_started_at') }} as trial_started_at,
        {{ to_utc_timestamp('trial_ends_at') }} as trial_ends_at,
        {{ to_utc_timestamp('converted_at') }} as converted_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
