with source as (

    {{ source_or_empty('app', 'accounts', {
        'account_id': 'varchar', 'name': 'varchar', 'owner_user_id': 'varchar',
        'stripe_customer_id': 'varchar', 'billing_gateway': 'varchar', 'plan_id': 'varchar',
        'seats': 'bigint', 'acquisition_channel': 'varchar', 'utm_source': 'varchar',
        'utm_medium': 'varchar', 'utm_campaign': 'varchar', 'country': 'varchar',
        'currency': 'varchar', 'status': 'varchar', 'signed_up_at': 'timestamptz',
        'trial_started_at': 'timestamptz', 'trial_ends_at': 'timestamptz',
        'converted_at': 'timestamptz', 'updated_at': 'timestamptz', '_dlt_load_id': 'varchar'}) }}

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
