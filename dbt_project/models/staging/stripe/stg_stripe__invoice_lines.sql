{#- One row per invoice line. Newer API versions (2025+) name the subscription, item and
    proration flag under `parent`, older ones on the line itself: both are read. -#}
{%- set cols = source_columns('stripe', 'invoices__lines') -%}

with source as (

    {{ source_or_empty('stripe', 'invoices__lines', {
        'id': 'varchar', '_dlt_id': 'varchar', 'invoice': 'varchar', 'currency': 'varchar',
        'amount': 'bigint', 'period__start': 'bigint', 'period__end': 'bigint'}) }}

),

present as (

    select
        *,
        {{ coalesce_columns(cols, ['parent__subscription_item_details__subscription',
            'parent__invoice_item_details__subscription', 'subscription'], 'varchar', 'line_subscription_id') }},
        {{ coalesce_columns(cols, ['parent__subscription_item_details__subscription_item', 'subscription_item'],
            'varchar', 'line_subscription_item_id') }},
        {{ coalesce_columns(cols, ['parent__subscription_item_details__proration',
            'parent__invoice_item_details__proration', 'proration'], 'boolean', 'line_is_proration') }},
        {{ coalesce_columns(cols, ['pricing__price_details__price', 'price__id'], 'varchar', 'line_price_id') }},
        {{ coalesce_columns(cols, ['pricing__unit_amount_decimal', 'price__unit_amount_decimal'],
            'varchar', 'line_unit_amount_decimal') }},
        {{ column_or_null(cols, 'description', 'varchar', 'line_description') }},
        {{ column_or_null(cols, 'quantity', 'bigint', 'line_quantity') }}
    from source

),

renamed as (

    select
        id as invoice_line_id,
        _dlt_id as invoice_line_row_id,
        invoice as invoice_id,
        line_subscription_id as subscription_id,
        line_subscription_item_id as subscription_item_id,
        line_price_id as price_id,
        line_description as description,
        lower(currency) as currency,
        amount as amount_minor,
        line_quantity as quantity,
        -- Stripe sends the unit amount as a decimal string ("2900" or "12.5")
        cast(line_unit_amount_decimal as decimal(24, 6)) as unit_amount_minor,
        coalesce(line_is_proration, false) as is_proration,
        period__start as period_start_epoch,
        period__end as period_end_epoch,
        {{ epoch_to_timestamp('period__start') }} as period_start_at,
        {{ epoch_to_timestamp('period__end') }} as period_end_at
    from present

)

select * from renamed
