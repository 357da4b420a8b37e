{#- One row per charge, failed ones included. API versions from 2025 on have no `invoice`
    on a charge: the invoice is the one whose payments name the charge's payment intent
    (`invoices__payments__data`); older versions send `invoice` on the charge itself. -#}
{%- set cols = source_columns('stripe', 'charges') -%}

with source as (

    {{ source_or_empty('stripe', 'charges', {
        'id': 'varchar', 'customer': 'varchar', 'currency': 'varchar', 'status': 'varchar',
        'paid': 'boolean', 'amount': 'bigint', 'amount_refunded': 'bigint', 'created': 'bigint',
        '_dlt_load_id': 'varchar'}) }}

),

invoice_payments as (

    {{ source_or_empty('stripe', 'invoices__payments__data', {
        'invoice': 'varchar', 'payment__type': 'varchar', 'payment__payment_intent': 'varchar'}) }}

),

invoice_by_payment_intent as (

    -- one invoice per payment intent (a payment intent pays one invoice)
    select
        payment__payment_intent as payment_intent_id,
        min(invoice) as invoice_id
    from invoice_payments
    where payment__payment_intent is not null
    group by payment__payment_intent

),

present as (

    select
        *,
        {{ column_or_null(cols, 'invoice', 'varchar', 'charge_invoice_id') }},
        {{ column_or_null(cols, 'payment_intent', 'varchar', 'charge_payment_intent_id') }},
        {{ column_or_null(cols, 'amount_captured', 'bigint', 'amount_captured_value') }},
        {{ column_or_null(cols, 'captured', 'boolean', 'captured_flag') }},
        {{ column_or_null(cols, 'refunded', 'boolean', 'refunded_flag') }},
        {{ column_or_null(cols, 'description', 'varchar', 'charge_description') }},
        {{ column_or_null(cols, 'failure_code', 'varchar', 'charge_failure_code') }}
    from source

),

renamed as (

    select
        present.id as charge_id,
        present.customer as stripe_customer_id,
        present.charge_payment_intent_id as payment_intent_id,
        coalesce(present.charge_invoice_id, invoice_by_payment_intent.invoice_id) as invoice_id,
        lower(present.currency) as currency,
        present.status,
        coalesce(present.paid, false) as is_paid,
        coalesce(present.captured_flag, present.status = 'succeeded') as is_captured,
        coalesce(present.refunded_flag, false) as is_refunded,
        present.amount as amount_minor,
        -- an uncaptured authorisation collects nothing
        coalesce(present.amount_captured_value, case when present.status = 'succeeded' then present.amount else 0 end)
            as amount_captured_minor,
        coalesce(present.amount_refunded, 0) as amount_refunded_minor,
        present.charge_description as description,
        present.charge_failure_code as failure_code,
        {{ epoch_to_timestamp('present.created') }} as created_at,
        {{ epoch_to_date('present.created') }} as created_date,
        present._dlt_load_id as dlt_load_id
    from present
    left join invoice_by_payment_intent
        on present.charge_payment_intent_id = invoice_by_payment_intent.payment_intent_id

)

select * from renamed
