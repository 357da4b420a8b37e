{%- set cols = source_columns('stripe', 'subscriptions') -%}

with source as (

    {{ source_or_empty('stripe', 'subscriptions', {
        'id': 'varchar', 'customer': 'varchar', 'currency': 'varchar', 'status': 'varchar',
        'created': 'bigint', 'start_date': 'bigint', 'canceled_at': 'bigint',
        'ended_at': 'bigint', '_dlt_load_id': 'varchar'}) }}

),

present as (

    -- fields Stripe leaves out until they have a value
    select
        *,
        {{ column_or_null(cols, 'cancel_at_period_end', 'boolean', 'cancel_at_period_end_flag') }},
        {{ column_or_null(cols, 'cancellation_details__reason', 'varchar', 'cancellation_reason') }},
        {{ column_or_null(cols, 'metadata__app_account_id', 'varchar', 'metadata_app_account_id') }},
        {{ column_or_null(cols, 'trial_start', 'bigint', 'trial_start_epoch') }},
        {{ column_or_null(cols, 'trial_end', 'bigint', 'trial_end_epoch') }},
        {{ column_or_null(cols, 'cancel_at', 'bigint', 'cancel_at_epoch') }}
    from source

),

renamed as (

    select
        id as subscription_id,
        customer as stripe_customer_id,
        lower(currency) as currency,
        status,
        coalesce(cancel_at_period_end_flag, false) as cancel_at_period_end,
        cancellation_reason,
        metadata_app_account_id as app_account_id,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('start_date') }} as started_at,
        {{ epoch_to_timestamp('trial_start_epoch') }} as trial_started_at,
        {{ epoch_to_timestamp('trial_end_epoch') }} as trial_ends_at,
        {{ epoch_to_timestamp('cancel_at_epoch') }} as cancel_at,
        {{ epoch_to_timestamp('canceled_at') }} as canceled_at,
        {{ epoch_to_timestamp('ended_at') }} as ended_at,
        -- Unix seconds kept for exact interval arithmetic in the MRR engine
        cancel_at_epoch,
        canceled_at as canceled_at_epoch,
        ended_at as ended_at_epoch,
        _dlt_load_id as dlt_load_id
    from present

)

select * from renamed
