{#- Payments taken by the gateways Stripe does not see (PayPal, the local gateway). A
    subscription payment names its service period, which is what MRR is built from. -#}

with source as (

    select * from {{ source('app', 'transactions') }}

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
