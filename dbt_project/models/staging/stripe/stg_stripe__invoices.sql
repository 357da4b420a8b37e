{%- set cols = source_columns('stripe', 'invoices') -%}

with source as (

    {{ source_or_empty('stripe', 'invoices', {
        'id': 'varchar', '_dlt_id': 'varchar', 'customer': 'varchar', 'currency': 'varchar',
        'status': 'varchar', 'subtotal': 'bigint', 'total': 'bigint', 'amount_due': 'bigint',
        'amount_paid': 'bigint', 'created': 'bigint', '_dlt_load_id': 'varchar'}) }}

),

present as (

    select
        *,
        {{ coalesce_columns(cols, ['parent__subscription_details__subscription', 'subscription'],
            'varchar', 'parent_subscription_id') }},
        {{ column_or_null(cols, 'billing_reason', 'varchar', 'billing_reason_value') }},
        {{ column_or_null(cols, 'number', 'varchar', 'invoice_number') }},
        {{ column_or_null(cols, 'status_transitions__paid_at', 'bigint', 'paid_at_epoch') }},
        {{ column_or_null(cols, 'status_transitions__marked_uncollectible_at', 'bigint',
            'marked_uncollectible_at_epoch') }},
        {{ column_or_null(cols, 'post_payment_credit_notes_amount', 'bigint', 'post_payment_credit_notes_minor') }}
    from source

),

renamed as (

    select
        id as invoice_id,
        _dlt_id as invoice_row_id,
        customer as stripe_customer_id,
        parent_subscription_id as subscription_id,
        invoice_number,
        lower(currency) as currency,
        status,
        billing_reason_value as billing_reason,
        subtotal as subtotal_minor,
        total as total_minor,
        amount_due as amount_due_minor,
        amount_paid as amount_paid_minor,
        coalesce(post_payment_credit_notes_minor, 0) as post_payment_credit_notes_minor,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('paid_at_epoch') }} as paid_at,
        {{ epoch_to_timestamp('marked_uncollectible_at_epoch') }} as marked_uncollectible_at,
        marked_uncollectible_at_epoch,
        _dlt_load_id as dlt_load_id
    from present

)

select * from renamed
