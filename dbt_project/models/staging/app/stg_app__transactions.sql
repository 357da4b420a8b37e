{#- Payments taken by the gateways Stripe does not see (PayPal, the local gateway). A
    subscription payment names its service period, which is what MRR is built from. -#}

with source as (

    {{ source_or_empty('app', 'transactions', {
        'transaction_id': 'varchar', 'account_id': 'varchar', 'user_id': 'varchar',
        'gateway': 'varchar', 'gateway_reference': 'varchar',
        'gateway_subscription_id': 'varchar', 'product_type': 'varchar', 'plan_id': 'varchar',
        'billing_interval': 'varchar', 'quantity': 'bigint', 'amount_minor': 'bigint',
        'currency': 'varchar', 'service_period_start': 'date', 'service_period_end': 'date',
        'status': 'varchar', 'refunded_amount_minor': 'bigint', 'created_at': 'timestamptz',
        'updated_at': 'timestamptz', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        transaction_id,
        account_id,
        user_id,
        gateway,
        gateway_reference,
        gateway_subscription_id,
        product_type,
        plan_id,
        billing_interval,
        quantity,
        amount_minor,
        lower(currency) as currency,
        cast(service_period_start as date) as service_period_start,
        cast(service_period_end as date) as service_period_end,
        status,
        coalesce(refunded_amount_minor, 0) as refunded_amount_minor,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
