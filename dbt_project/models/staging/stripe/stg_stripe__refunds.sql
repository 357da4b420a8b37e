{#- One row per refund. `customer` is not sent by every API version (it is then the
    charge's). `credit_note_refunded_minor` is the part of the refund that settles credit
    notes (`credit_notes.refunds`): that part already reduces revenue as a credit note. -#}
{%- set cols = source_columns('stripe', 'refunds') -%}

with source as (

    {{ source_or_empty('stripe', 'refunds', {
        'id': 'varchar', 'charge': 'varchar', 'currency': 'varchar', 'status': 'varchar',
        'amount': 'bigint', 'created': 'bigint', '_dlt_load_id': 'varchar'}) }}

),

credit_note_refunds as (

    {{ source_or_empty('stripe', 'credit_notes__refunds', {
        'refund': 'varchar', 'amount_refunded': 'bigint', '_dlt_parent_id': 'varchar'}) }}

),

credited_by_refund as (

    select
        refund as refund_id,
        sum(amount_refunded) as credit_note_refunded_minor
    from credit_note_refunds
    where refund is not null
    group by refund

),

present as (

    select
        *,
        {{ column_or_null(cols, 'customer', 'varchar', 'refund_customer_id') }},
        {{ column_or_null(cols, 'payment_intent', 'varchar', 'refund_payment_intent_id') }},
        {{ column_or_null(cols, 'reason', 'varchar', 'refund_reason') }}
    from source

),

renamed as (

    select
        present.id as refund_id,
        present.charge as charge_id,
        present.refund_payment_intent_id as payment_intent_id,
        present.refund_customer_id as stripe_customer_id,
        lower(present.currency) as currency,
        present.status,
        present.refund_reason as reason,
        present.amount as amount_minor,
        coalesce(credited_by_refund.credit_note_refunded_minor, 0) as credit_note_refunded_minor,
        {{ epoch_to_timestamp('present.created') }} as created_at,
        {{ epoch_to_date('present.created') }} as created_date,
        present._dlt_load_id as dlt_load_id
    from present
    left join credited_by_refund on present.id = credited_by_refund.refund_id

)

select * from renamed
