{#- The payments, failed payments and refunds of the invoices sent to ChartMogul, one row
    per transaction. Stripe: each charge of an invoice (succeeded or failed) and each
    refund of those charges that took money back. PayPal and the local gateway: each
    payment attempt of a period (a failed attempt before its successful retry included) or
    one-off purchase, and a refund where the gateway refunded it. A pending attempt is not
    sent until it settles. -#}

with invoices as (

    select * from {{ ref('chartmogul_export_invoices') }}

),

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

refunds as (

    select * from {{ ref('stg_stripe__refunds') }}

),

gateway_transactions as (

    select * from {{ ref('stg_app__transactions') }}

),

gateway_invoice_of_attempt as (

    -- an attempt belongs to the invoice of its period (named by the period's first attempt)
    select
        transaction_id,
        gateway || '_' || first_value(transaction_id) over (
            partition by gateway_subscription_id, service_period_start
            order by created_at, transaction_id
        ) as invoice_external_id
    from gateway_transactions
    where product_type = 'subscription' and gateway_subscription_id is not null
    union all
    select
        transaction_id,
        gateway || '_' || transaction_id as invoice_external_id
    from gateway_transactions
    where product_type <> 'subscription'

),

stripe_payments as (

    select
        charges.charge_id as external_id,
        'stripe_' || charges.invoice_id as invoice_external_id,
        'payment' as transaction_type,
        case when charges.status = 'succeeded' then 'successful' else 'failed' end as result,
        charges.created_at as transaction_date,
        charges.amount_minor as amount_in_cents
    from charges
    where charges.invoice_id is not null and charges.status in ('succeeded', 'failed')

),

stripe_refunds as (

    select
        refunds.refund_id as external_id,
        'stripe_' || charges.invoice_id as invoice_external_id,
        'refund' as transaction_type,
        'successful' as result,
        refunds.created_at as transaction_date,
        refunds.amount_minor as amount_in_cents
    from refunds
    inner join charges on refunds.charge_id = charges.charge_id
    where
        charges.invoice_id is not null
        and refunds.status not in ('failed', 'canceled')
        and refunds.amount_minor > 0

),

gateway_payments as (

    select
        gateway_transactions.transaction_id as external_id,
        gateway_invoice_of_attempt.invoice_external_id,
        'payment' as transaction_type,
        case when gateway_transactions.status = 'failed' then 'failed' else 'successful' end as result,
        gateway_transactions.created_at as transaction_date,
        gateway_transactions.amount_minor as amount_in_cents
    from gateway_transactions
    inner join gateway_invoice_of_attempt
        on gateway_transactions.transaction_id = gateway_invoice_of_attempt.transaction_id
    where gateway_transactions.status in ('succeeded', 'refunded', 'failed')

),

gateway_refunds as (

    select
        gateway_transactions.transaction_id || '_refund' as external_id,
        gateway_invoice_of_attempt.invoice_external_id,
        'refund' as transaction_type,
        'successful' as result,
        gateway_transactions.updated_at as transaction_date,
        coalesce(nullif(gateway_transactions.refunded_amount_minor, 0), gateway_transactions.amount_minor)
            as amount_in_cents
    from gateway_transactions
    inner join gateway_invoice_of_attempt
        on gateway_transactions.transaction_id = gateway_invoice_of_attempt.transaction_id
    where gateway_transactions.status = 'refunded'

),

unioned as (

    select * from stripe_payments
    union all
    select * from stripe_refunds
    union all
    select * from gateway_payments
    union all
    select * from gateway_refunds

),

final as (

    -- only transactions of invoices that are sent
    select
        unioned.external_id,
        unioned.invoice_external_id,
        invoices.customer_external_id,
        unioned.transaction_type,
        unioned.result,
        unioned.transaction_date,
        cast(unioned.amount_in_cents as bigint) as amount_in_cents
    from unioned
    inner join invoices on unioned.invoice_external_id = invoices.external_id

)

select * from final
