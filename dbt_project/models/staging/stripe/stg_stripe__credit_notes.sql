{#- One row per credit note. Amounts as Stripe defines them: `total` includes tax and all
    discounts, `total_excluding_tax` leaves tax out (older API versions lack it: then the
    tax-inclusive total stands in), `subtotal` is before invoice-level discounts. -#}
{%- set cols = source_columns('stripe', 'credit_notes') -%}

with source as (

    {{ source_or_empty('stripe', 'credit_notes', {
        'id': 'varchar', 'invoice': 'varchar', 'customer': 'varchar', 'currency': 'varchar',
        'status': 'varchar', 'type': 'varchar', 'amount': 'bigint', 'subtotal': 'bigint',
        'total': 'bigint', 'created': 'bigint', '_dlt_load_id': 'varchar'}) }}

),

present as (

    select
        *,
        {{ coalesce_columns(cols, ['total_excluding_tax', 'total'], 'bigint', 'total_excluding_tax_value') }},
        {{ column_or_null(cols, 'pre_payment_amount', 'bigint', 'pre_payment_value') }},
        {{ column_or_null(cols, 'post_payment_amount', 'bigint', 'post_payment_value') }},
        {{ column_or_null(cols, 'reason', 'varchar', 'credit_note_reason') }},
        {{ column_or_null(cols, 'memo', 'varchar', 'credit_note_memo') }},
        {{ column_or_null(cols, 'number', 'varchar', 'credit_note_number') }},
        {{ column_or_null(cols, 'effective_at', 'bigint', 'effective_at_epoch') }}
    from source

),

renamed as (

    select
        id as credit_note_id,
        invoice as invoice_id,
        customer as stripe_customer_id,
        credit_note_number,
        lower(currency) as currency,
        status,
        type as credit_note_type,
        credit_note_reason as reason,
        credit_note_memo as memo,
        amount as amount_minor,
        subtotal as subtotal_minor,
        total as total_minor,
        total_excluding_tax_value as total_excluding_tax_minor,
        coalesce(pre_payment_value, 0) as pre_payment_minor,
        coalesce(post_payment_value, 0) as post_payment_minor,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_date('created') }} as created_date,
        {{ epoch_to_timestamp('effective_at_epoch') }} as effective_at,
        _dlt_load_id as dlt_load_id
    from present

)

select * from renamed
