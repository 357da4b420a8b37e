{%- set cols = source_columns('stripe', 'prices') -%}

with source as (

    {{ source_or_empty('stripe', 'prices', {
        'id': 'varchar', 'product': 'varchar', 'currency': 'varchar', 'unit_amount': 'bigint',
        'type': 'varchar', 'active': 'boolean', 'created': 'bigint'}) }}

),

present as (

    select
        *,
        {{ column_or_null(cols, 'recurring__interval', 'varchar', 'billing_interval') }},
        {{ column_or_null(cols, 'recurring__interval_count', 'integer', 'billing_interval_count') }},
        {{ column_or_null(cols, 'recurring__usage_type', 'varchar', 'usage_type') }},
        {{ column_or_null(cols, 'metadata__plan_id', 'varchar', 'plan_id') }},
        {{ column_or_null(cols, 'nickname', 'varchar', 'price_nickname') }}
    from source

),

renamed as (

    select
        id as price_id,
        product as product_id,
        plan_id,
        price_nickname as nickname,
        lower(currency) as currency,
        unit_amount as unit_amount_minor,
        type as price_type,
        billing_interval,
        coalesce(billing_interval_count, 1) as billing_interval_count,
        usage_type,
        active as is_active,
        {{ epoch_to_timestamp('created') }} as created_at
    from present

)

select * from renamed
